/**
 * A clear card number must not reach the recording through an exec's stdin: a client (ssh2, writing its
 * own packets) sends `card 4111 1111` and, 300 ms later, ` 1111 1111 end` to `cat > FILE` on a real sshd.
 * Both halves: the target received the client's bytes unchanged (input is the client's own data), and no
 * `input` event holds the card number in clear — the recorded stdin is masked across the two reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
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
let file: string;

function sendInTwo(command: string, first: string, second: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () =>
      c.exec(command, (err, ch) => {
        if (err) return reject(err);
        ch.on('data', () => undefined);
        ch.stderr.on('data', () => undefined);
        ch.on('close', () => {
          c.end();
          resolve();
        });
        ch.write(first);
        setTimeout(() => ch.end(second), 300);
      }),
    );
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port: f.port, username: 'web', privateKey: readFileSync(f.botKey), hostVerifier: () => true });
  });
}

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  file = join(f.sshd.scratch, 'stdin.txt');
  await sendInTwo(`cat > ${file}`, 'card 4111 1111', ' 1111 1111 end\n');
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

describe('an exec stdin recording', () => {
  it('the target got the bytes the client sent', () => {
    expect(readFileSync(file, 'utf8')).toBe('card 4111 1111 1111 1111 end\n');
  });

  it('holds the card number masked, not in clear, although it came in two reads', () => {
    const events: EvidenceEvent[] = [...evidence.sessions.values()].flat();
    const inputs = events.filter((e) => e.type === 'input' && e['channel'] === 0);
    expect(inputs.length).toBeGreaterThan(0);
    const recorded = Buffer.concat(inputs.map((e) => Buffer.from(e['data'] as Uint8Array))).toString('utf8');
    expect(recorded.replace(/[^0-9]/g, '')).not.toContain('4111111111111111');
    expect(recorded).toMatch(/^card 4111 11\*\* \*{4} 1111 end\n$/);
  });

  it('the evidence verifies (the verifier re-scan finds no clear card number)', () => {
    expect(failures(evidence.report)).toEqual([]);
  });
});
