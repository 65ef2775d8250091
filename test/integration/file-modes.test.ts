/**
 * Every file the appliance writes while it runs gets the tightest mode that works, whatever the umask:
 * what lives under the data directory (archives, their day folders, the journal, vigil.db) is owner-only,
 * and so is an exported bundle (the operator hands it on; nothing else on the machine needs to read it).
 * Public material (trust.json, *.pub, the TLS certificate) may stay readable.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../../appliance/appliance.ts';
import { newAppliance, type TestAppliance } from '../helpers/evidence.ts';
import { exportTo, recordSessions } from '../helpers/viewer-evidence.ts';

function walk(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(d, e.name), ...walk(join(d, e.name))] : [join(d, e.name)]));
}
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8).padStart(4, '0');

let A: TestAppliance;
let live: Record<string, string>;
const before = process.umask(0o022);

beforeAll(async () => {
  A = newAppliance();
  const app = await Appliance.open(A.configPath);
  await recordSessions(app, [{ subject: 'one', commands: 2 }]);
  // A session still open: its archive and the journal are being written.
  const s = app.recorder.start({ protocol: 'postgres', identity: { subject: 'two' }, target: { name: 'db' }, client: { address: '127.0.0.1:1' } });
  s.record({ type: 'session.open', protocol: 'postgres' });
  await s.sync();
  const data = join(A.dir, 'appliance', 'data');
  live = Object.fromEntries(walk(data).map((p) => [relative(data, p), `${statSync(p).isDirectory() ? 'dir' : 'file'} ${mode(p)}`]));
  await s.close('client terminated');
  await app.close();
  await exportTo(A.configPath, join(A.dir, 'out.vigil'));
}, 60_000);

afterAll(() => {
  process.umask(before);
});

describe('files the running appliance writes', () => {
  it('under the data directory: files 0600, folders 0700 (archives, their day folders, the journal)', () => {
    expect(Object.keys(live).some((p) => p.endsWith('.vsa'))).toBe(true);
    expect(Object.keys(live).some((p) => p.startsWith('journal/'))).toBe(true);
    const loose = Object.entries(live).filter(([, m]) => m !== 'dir 0700' && m !== 'file 0600');
    expect(loose).toEqual([]);
  });

  it('an exported bundle is 0600', () => {
    expect(mode(join(A.dir, 'out.vigil'))).toBe('0600');
  });
});
