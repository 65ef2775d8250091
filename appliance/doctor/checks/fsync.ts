/**
 * Record, then forward rests on fdatasync: evidence.durability must be fsync, the data directory must not
 * be on a memory file system, and fdatasync must take as long as a real flush. A flush that returns in a
 * few microseconds means a volatile write cache acknowledges it (the data would not survive power loss):
 * that cannot be told apart from a very fast device from here, so it is reported unknown, not a pass.
 */
import { closeSync, fdatasyncSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { needConfig, isResult, type DoctorCheck, type DoctorResult } from '../check.ts';

const MEMORY_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x858458f6: 'ramfs' };
const ROUNDS = 20;
const SUSPICIOUS_MS = 0.02;

export const fsyncCheck: DoctorCheck = {
  id: 'fsync',
  title: 'fdatasync is durable, and how long it takes',
  async run(ctx) {
    const loaded = needConfig(ctx, 'fsync');
    if (isResult(loaded)) return [loaded];
    const dataDir = loaded.resolvePath(loaded.config.appliance.dataDir);
    const out: DoctorResult[] = [];
    if (loaded.config.evidence.durability !== 'fsync') {
      out.push({ check: 'fsync', subject: 'durability', status: 'fail', detail: 'evidence.durability is write: a command is forwarded once the OS has it, and a power loss can lose it', fix: 'set evidence.durability: fsync (docs/performance.md gives the cost)' });
    }
    const fsType = MEMORY_FS[Number(statfsSync(dataDir).type)];
    if (fsType) out.push({ check: 'fsync', subject: 'filesystem', status: 'fail', detail: `${dataDir} is on ${fsType}: nothing there survives a reboot`, fix: 'put appliance.dataDir on a persistent disk' });
    const path = join(dataDir, `.doctor-fsync-${process.pid}`);
    const block = Buffer.alloc(4096, 0x5a);
    const times: number[] = [];
    const fd = openSync(path, 'wx', 0o600);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        writeSync(fd, block, 0, block.length, i * block.length);
        const t = performance.now();
        fdatasyncSync(fd);
        times.push(performance.now() - t);
      }
    } finally {
      closeSync(fd);
      unlinkSync(path);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const p95 = times[Math.floor(times.length * 0.95)]!;
    const figures = `fdatasync of 4 KiB: median ${median.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms (${ROUNDS} rounds)`;
    if (fsType) return out;
    if (median < SUSPICIOUS_MS) {
      out.push({ check: 'fsync', status: 'unknown', detail: `${figures}: faster than a flush to stable storage, so a volatile cache may acknowledge it — durability not proven`, fix: 'check the disk write cache (hdparm -W, the controller battery, the hypervisor\'s cache mode)' });
    } else {
      out.push({ check: 'fsync', status: 'pass', detail: figures });
    }
    return out;
  },
};
