/**
 * Approve-to-execution latency: a held INSERT waits; an approver POSTs the approval to the admin API;
 * we time from sending that request to the client receiving the INSERT's result. Real PostgreSQL, real
 * gateway, node-postgres client, HTTPS admin API on loopback. Prints a summary, then one JSON line.
 *
 * Usage: node bin/run-ts.mjs scripts/bench/approvals.ts [--rounds 50]
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { initCrypto } from '../../shared/crypto/backend.ts';
import { startGatewayFixture } from '../../test/helpers/gateway.ts';

await initCrypto();
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' } } });
const ROUNDS = Number(values.rounds);

const f = await startGatewayFixture({
  policies: `
policies:
  - name: bench
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`,
});
try {
  const ca = readFileSync(f.adminCa);
  const staff = await f.staffToken('dave@acme.test', ['dba']);
  const agent = new (await import('node:https')).Agent({ keepAlive: true, ca });
  const approve = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${f.adminUrl}/v1/approvals/${id}/approve`, { method: 'POST', agent, headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end('{"reason":"bench"}');
    });
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
  await c.connect();
  let onRequest: ((id: string) => void) | undefined;
  c.on('notice', (n) => {
    const id = /request (apr_[\w-]+)/.exec(n.message ?? '')?.[1];
    if (id) onRequest?.(id);
  });
  const samples: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < ROUNDS + 5; i++) {
    const t0 = performance.now();
    await c.query('SELECT 1');
    plain.push(performance.now() - t0);
    const held = new Promise<string>((r) => (onRequest = r));
    const q = c.query('INSERT INTO audit_scratch (v) VALUES ($1)', [`bench ${i}`]);
    const id = await held;
    const start = performance.now();
    await approve(id);
    await q;
    if (i >= 5) samples.push(performance.now() - start); // the first rounds warm up TLS and caches
  }
  await c.end();
  agent.destroy();
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  const median = pct(50);
  const plainMedian = [...plain].sort((a, b) => a - b)[Math.floor(plain.length / 2)]!;
  console.log(`approve → execution over ${samples.length} rounds: median ${median.toFixed(2)} ms, p95 ${pct(95).toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(2)} ms`);
  console.log(`(for scale: a plain SELECT 1 round trip through the gateway: median ${plainMedian.toFixed(2)} ms)`);
  console.log(JSON.stringify({ bench: 'approvals', rounds: samples.length, approve_to_exec_ms: Number(median.toFixed(3)), approve_to_exec_p95_ms: Number(pct(95).toFixed(3)), select_roundtrip_ms: Number(plainMedian.toFixed(3)) }));
} finally {
  await f.stop();
}
