/**
 * PCI DSS 10.6: the clock is synchronised. Read from systemd-timesyncd/timedated (`timedatectl show`) or
 * chrony (`chronyc -n tracking`) where available; when neither answers, the result is unknown — the
 * appliance cannot tell, and says so.
 */
import type { DoctorCheck, DoctorContext, DoctorResult } from '../check.ts';

const MAX_OFFSET_SECONDS = 1;

async function fromTimedatectl(ctx: DoctorContext): Promise<DoctorResult | undefined> {
  const r = await ctx.run('timedatectl', ['show', '-p', 'NTPSynchronized', '-p', 'NTP', '-p', 'Timezone']);
  if (!r || r.code !== 0) return undefined; // not installed, or no timedated (no systemd as PID 1)
  const v = Object.fromEntries(r.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
  if (v['NTPSynchronized'] === 'yes') return { check: 'clock', status: 'pass', detail: `timedatectl: NTPSynchronized=yes (NTP=${v['NTP'] ?? '?'}, timezone ${v['Timezone'] ?? '?'})` };
  if (v['NTPSynchronized'] === 'no')
    return { check: 'clock', status: 'fail', detail: `timedatectl: NTPSynchronized=no (NTP=${v['NTP'] ?? '?'})`, fix: 'enable time sync (timedatectl set-ntp true, or configure chrony) against your CDE time source' };
  return undefined;
}

async function fromChrony(ctx: DoctorContext): Promise<DoctorResult | undefined> {
  const r = await ctx.run('chronyc', ['-n', 'tracking']);
  if (!r || r.code !== 0) return undefined;
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(r.stdout)?.[1]?.trim();
  const leap = field('Leap status');
  const sys = field('System time');
  const m = sys ? /([\d.]+) seconds (fast|slow)/.exec(sys) : null;
  const offset = m ? Number(m[1]) : undefined;
  if (leap === 'Not synchronised') return { check: 'clock', status: 'fail', detail: 'chrony: not synchronised', fix: 'check chronyc sources: no reachable time server' };
  if (leap && offset !== undefined) {
    if (offset > MAX_OFFSET_SECONDS) return { check: 'clock', status: 'fail', detail: `chrony: ${sys}`, fix: 'the clock is off by more than 1 s: check chronyc sources' };
    return { check: 'clock', status: 'pass', detail: `chrony: leap status ${leap}, ${sys}` };
  }
  return undefined;
}

export const clockCheck: DoctorCheck = {
  id: 'clock',
  title: 'the clock is synchronised (PCI DSS 10.6)',
  async run(ctx) {
    const r = (await fromTimedatectl(ctx)) ?? (await fromChrony(ctx));
    return [
      r ?? {
        check: 'clock',
        status: 'unknown',
        detail: 'neither timedatectl (systemd-timedated) nor chronyc answered: clock synchronisation not checked',
        fix: 'run time sync on the host (chrony or systemd-timesyncd) and let vigil read it; in a container, check the node\'s clock',
      },
    ];
  },
};
