/**
 * The systemd unit as written (packaging/systemd/vigil.service): the sandbox the docs promise, and its
 * exposure score from `systemd-analyze security --offline=true` (deb.test.ts checks the installed unit too,
 * with `systemd-analyze verify`). ≈ 0.5 s.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';
import { run } from '../helpers/built.ts';

const path = join(ROOT, 'packaging', 'systemd', 'vigil.service');
const unit = readFileSync(path, 'utf8');
const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

describe('vigil.service', () => {
  it('runs as the unprivileged vigil user in a sandbox, writable only in /var/lib/vigil', () => {
    const expected: Record<string, string> = {
      User: 'vigil',
      Group: 'vigil',
      Type: 'simple',
      Restart: 'on-failure',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      ReadWritePaths: '/var/lib/vigil',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      ExecStartPre: '/usr/bin/vigil recover --config /var/lib/vigil/vigil.yaml',
      ExecStart: '/usr/bin/vigil serve --config /var/lib/vigil/vigil.yaml',
    };
    for (const [k, v] of Object.entries(expected)) expect(values(k), k).toEqual([v]);
    expect(values('SystemCallFilter')[0]).toBe('@system-service');
    // V8's JIT needs writable+executable mappings; the unit must not promise what Node cannot keep.
    expect(values('MemoryDenyWriteExecute')).toEqual([]);
    expect(values('WatchdogSec')).toEqual([]);
  });

  it('has an exposure score below 1.5 (systemd-analyze security --offline=true)', () => {
    const r = run('systemd-analyze', ['security', '--offline=true', '--no-pager', path], { cwd: ROOT });
    const score = Number(/Overall exposure level for vigil\.service: ([\d.]+)/.exec(r.stdout)?.[1]);
    expect(score, r.stdout.slice(-400) + r.stderr).toBeLessThan(1.5);
    expect(score).toBe(1.2); // what docs/operations.md states; change both together
  });
});
