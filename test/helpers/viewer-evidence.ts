/** Bundles for the viewer's end-to-end tests, written by the real recorder and exporter. */
import { readFileSync } from 'node:fs';
import type { SessionContext } from '../../shared/evidence/archive-format.ts';
import { Appliance } from '../../appliance/appliance.ts';
import type { EventInput } from '../../appliance/evidence/archive-writer.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';

export interface SessionSpec {
  subject: string;
  commands?: number;
  context?: Partial<SessionContext>;
  /** Events recorded after the commands (each command is made durable in its own frame first). */
  extra?: EventInput[];
}

/** Records sessions the way the gateway does (one durable frame per command), then closes them. */
export async function recordSessions(app: Appliance, specs: readonly SessionSpec[]): Promise<string[]> {
  const ids: string[] = [];
  for (const spec of specs) {
    const s = app.recorder.start({ protocol: 'postgres', identity: { subject: spec.subject }, target: { name: 'db' }, client: { address: '127.0.0.1:5000' }, ...spec.context });
    s.record({ type: 'session.open', protocol: spec.context?.protocol ?? 'postgres' });
    for (let i = 1; i <= (spec.commands ?? 0); i++) {
      s.record({ type: 'command', id: i, kind: 'sql', text: `SELECT ${i}` });
      s.record({ type: 'decision', command: i, decision: 'allow', rule: 'r' });
      await s.sync();
    }
    for (const e of spec.extra ?? []) s.record(e);
    await s.close('client terminated');
    ids.push(s.id);
  }
  return ids;
}

export async function exportTo(configPath: string, file: string): Promise<Uint8Array> {
  const app = await Appliance.open(configPath);
  try {
    await exportBundle(app, { out: file });
  } finally {
    await app.close();
  }
  return new Uint8Array(readFileSync(file));
}
