/**
 * The pipeline contract (pipeline-contract.ts) for the SSH adapter: a real gateway in front of a real sshd,
 * ssh2's Client as the bot (several exec channels on one connection), the target's files asked directly
 * whether a command ran.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { loadOrCreateFingerprintKey } from '../../appliance/keys/fingerprint-key.ts';
import { startSshGatewayFixture } from '../helpers/ssh-gateway.ts';
import { pipelineContract, type ClientOutcome, type ContractClient } from './pipeline-contract.ts';

const POLICIES = `
policies:
  - name: contract
    match: { subjects: [deploy-bot] }
    targets: [web]
    rules:
      - name: bash-needs-approval
        when: { protocols: [ssh], commands: [bash] }
        action: require-approval
        approvers: { groups: [ops] }
    classes: { exec: allow, default: block }
`;

pipelineContract({
  protocol: 'ssh',
  async start() {
    const f = await startSshGatewayFixture({ policies: POLICIES, extraConfig: 'approvals:\n  expirySeconds: 120\n' });
    const log = join(f.sshd.scratch, 'ran.log');
    /** Allowed: `sh -c …`; held: `bash -c …` (the rule above). Both append the marker to the log on the target. */
    const command = (kind: 'allowed' | 'held', marker: string) => `${kind === 'allowed' ? 'sh' : 'bash'} -c 'echo ${marker} >> ${log}'`;
    return {
      appliance: f.gateway.appliance,
      recorder: f.gateway.appliance.recorder,
      approvals: f.gateway.localApprovals,
      approver: { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] },
      commandKey: loadOrCreateFingerprintKey(join(f.dir, 'appliance', 'keys')),
      trust: f.trust,
      auditor: f.auditor,
      async connect(): Promise<ContractClient> {
        const sock = connect(f.port, '127.0.0.1');
        const c = new ssh2.Client();
        let lost: () => void = () => undefined;
        const gone = new Promise<void>((r) => (lost = r));
        c.on('error', () => lost());
        c.on('close', () => lost());
        await new Promise<void>((resolve, reject) => {
          c.once('ready', () => resolve());
          c.once('error', reject);
          c.connect({ sock, username: 'web', privateKey: readFileSync(f.botKey) });
        });
        return {
          send(kind, marker) {
            const text = command(kind, marker);
            const done = new Promise<ClientOutcome>((resolve) => {
              void gone.then(() => resolve({ ok: false, message: 'connection lost' }));
              c.exec(text, (err, ch) => {
                if (err) return resolve({ ok: false, message: err.message });
                let stderr = '';
                ch.stderr.on('data', (d: Buffer) => (stderr += String(d)));
                ch.on('data', () => undefined);
                ch.on('close', (code: number | null) => resolve({ ok: code === 0, message: stderr }));
              });
            });
            return { done, exactBytes: Buffer.from(text, 'utf8') };
          },
          drop: () => sock.destroy(),
          end: async () => {
            c.end();
            await gone;
          },
        };
      },
      async executed(marker) {
        return existsSync(log) && readFileSync(log, 'utf8').split('\n').includes(marker);
      },
      stop: () => f.stop(),
    };
  },
});
