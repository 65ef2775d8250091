/**
 * The pipeline contract (pipeline-contract.ts) for the PostgreSQL adapter: a real gateway in front of a real
 * PostgreSQL, node-postgres as the client, the target asked directly (as its superuser) what ran.
 */
import { join } from 'node:path';
import pg from 'pg';
import { loadOrCreateFingerprintKey } from '../../appliance/keys/fingerprint-key.ts';
import { exactCommandBytes } from '../../appliance/protocols/postgres/command-bytes.ts';
import { startGatewayFixture, STAFF_ISSUER } from '../helpers/gateway.ts';
import { pipelineContract, type ContractClient } from './pipeline-contract.ts';

const POLICIES = `
policies:
  - name: contract
    match: { subjects: ['repo:acme/*'] }
    targets: ['payments*']
    rules:
      - name: scratch-writes-need-approval
        when: { classes: [write], tables: [audit_scratch] }
        action: require-approval
        approvers: { groups: [dba] }
    statements: { read: allow, transaction: allow, write: allow, default: block }
`;

/** Allowed: a write to a table no rule holds. Held: a write to audit_scratch. */
const sql = (kind: 'allowed' | 'held', marker: string) =>
  kind === 'allowed' ? `INSERT INTO contract_log (v) VALUES ('${marker}')` : `INSERT INTO audit_scratch (v) VALUES ('${marker}')`;

pipelineContract({
  protocol: 'postgres',
  async start() {
    const f = await startGatewayFixture({
      policies: POLICIES,
      beforeStart: (server) => {
        server.psql('CREATE TABLE contract_log (v text); GRANT ALL ON contract_log TO svc_reporting', { database: 'payments' });
      },
      extraConfig: 'approvals:\n  expirySeconds: 120\n',
    });
    return {
      appliance: f.gateway.appliance,
      recorder: f.gateway.appliance.recorder,
      approvals: f.gateway.localApprovals,
      approver: { subject: 'dana@acme.test', issuer: STAFF_ISSUER, groups: ['dba'] },
      commandKey: loadOrCreateFingerprintKey(join(f.dir, 'appliance', 'keys')),
      trust: f.trust,
      auditor: f.auditor,
      async connect(): Promise<ContractClient> {
        const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
        c.on('error', () => undefined);
        await c.connect();
        return {
          send(kind, marker) {
            const text = sql(kind, marker);
            const done = c.query(text).then(
              () => ({ ok: true, message: '' }),
              (e: Error) => ({ ok: false, message: e.message }),
            );
            return { done, exactBytes: exactCommandBytes('Q', Buffer.from(text, 'utf8')) };
          },
          drop: () => (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy(),
          end: () => c.end(),
        };
      },
      async executed(marker) {
        const n = f.pg.psql(`SELECT (SELECT count(*) FROM contract_log WHERE v = '${marker}') + (SELECT count(*) FROM audit_scratch WHERE v = '${marker}')`, { database: 'payments' });
        return Number(n.trim()) > 0;
      },
      stop: () => f.stop(),
    };
  },
});
