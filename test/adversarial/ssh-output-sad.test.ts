/**
 * Attack: get a card security code past the SSH gateway's stream masking — in one write, split between the
 * keyword and the code across two reads, next to a card number, and typed into stdin. Both halves: the
 * client never sees the code (output), the recording never holds it (output and stdin), and the real
 * verifier, which re-scans output and input bytes for codes, passes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { failures } from '../helpers/evidence.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    classes: { exec: allow, default: block }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
const r: Record<string, { code: number; stdout: string; stderr: string }> = {};

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  r['oneWrite'] = await f.ssh('web', "printf 'order 7 cvv: 123 shipped\\n'");
  r['split'] = await f.ssh('web', "printf 'order 8 CVV2: '; sleep 0.4; printf '9876 done\\n'");
  r['splitKeyword'] = await f.ssh('web', "printf 'order 9 cv'; sleep 0.4; printf 'c=456\\n'");
  r['weakNearPan'] = await f.ssh('web', "printf 'card 5555555555554444 '; sleep 0.4; printf 'pin: 4711\\n'");
  r['stdin'] = await f.ssh('web', `cat > ${join(f.sshd.scratch, 'stdin-copy')}`, { input: 'note: cvv is 321\n' });
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const recorded = (): string =>
  [...evidence.sessions.values()]
    .flat()
    .map((e: EvidenceEvent) => JSON.stringify({ ...e, data: undefined }) + (e.data ? Buffer.from(e.data).toString('latin1') : ''))
    .join('\n');

describe('security codes in SSH output and input', () => {
  it('the client gets every code redacted, the rest of the output intact', () => {
    expect(r['oneWrite']).toMatchObject({ code: 0, stdout: 'order 7 cvv: [REDACTED CVV] shipped\n' });
    expect(r['split']).toMatchObject({ code: 0, stdout: 'order 8 CVV2: [REDACTED CVV] done\n' });
    expect(r['splitKeyword']).toMatchObject({ code: 0, stdout: 'order 9 cvc=[REDACTED CVV]\n' });
    expect(r['weakNearPan']).toMatchObject({ code: 0, stdout: 'card 555555******4444 pin: [REDACTED PIN]\n' });
  });

  it('the target still got what the client typed (redaction is for the recording only on input)', () => {
    expect(r['stdin']!.code).toBe(0);
    expect(readFileSync(join(f.sshd.scratch, 'stdin-copy'), 'utf8')).toBe('note: cvv is 321\n');
  });

  it('the recording holds none of the codes, and the verifier (re-scanning output and input bytes) passes', () => {
    const all = recorded();
    for (const code of ['123', '9876', '456', '4711', '321']) expect(all).not.toMatch(new RegExp(`(cvv|CVV2|cvc|pin)[^0-9\\n]{0,6}${code}`));
    expect(all).toContain('cvv is [REDACTED CVV]');
    expect(failures(evidence.report)).toEqual([]);
    expect(evidence.report.ok).toBe(true);
  });

  it('counts what it redacted in the masking events', () => {
    const sad = [...evidence.sessions.values()].flat().filter((e) => e.type === 'masking').reduce((n, e) => n + Number((e['kinds'] as { sad?: number } | undefined)?.sad ?? 0), 0);
    expect(sad).toBeGreaterThanOrEqual(5);
  });
});
