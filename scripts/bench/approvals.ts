/**
 * Approve-to-execution latency: a held INSERT waits; an approver POSTs the approval to the admin API;
 * we time from sending that request to the client receiving the INSERT's result. Real PostgreSQL, real
 * gateway, node-postgres client, HTTPS admin API on loopback. Prints a summary, then one JSON line.
 *
 * Three figures, measured in the same run:
 *   - in-process: one gateway inside this process (the historical figure, approve_to_exec_ms);
 *   - single appliance: one `vigil serve` process on its own SQLite (single_approve_to_exec_ms);
 *   - fleet: two `vigil serve` processes sharing a PostgreSQL (docs/fleet.md), the command held on A and
 *     approved through B's admin API (fleet_approve_to_exec_ms).
 * fleet_approval_latency_ratio = fleet / single appliance (same harness: processes; target ≤ 2).
 *
 * Usage: node bin/run-ts.mjs scripts/bench/approvals.ts [--rounds 50] [--skip-fleet]
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { initCrypto, useCryptoBackend } from '../../shared/crypto/backend.ts';
import { nativeBackend } from '../../appliance/crypto/native-backend.ts';
import { startFleet } from '../../test/helpers/fleet.ts';
import { startGatewayFixture } from '../../test/helpers/gateway.ts';

await initCrypto();
useCryptoBackend(nativeBackend()); // the gateway runs in this process: the shipped appliance's cipher
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, 'skip-fleet': { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
const WARMUP = 5;

const POLICIES = `
policies:
  - name: bench
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`;

interface Rig {
  /** Where the bot connects (the appliance holding the command). */
  port: number;
  /** The admin API the approver uses, and its CA. */
  adminUrl: string;
  adminCa: string;
  botToken: () => Promise<string>;
  staffToken: string;
}

/** A connected bot and approver for one rig; round() times one approve → execution. */
async function open(r: Rig): Promise<{ round: (i: number) => Promise<{ approve: number; plain: number }>; close: () => Promise<void> }> {
  const agent = new Agent({ keepAlive: true, ca: readFileSync(r.adminCa) });
  const approve = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${r.adminUrl}/v1/approvals/${id}/approve`, { method: 'POST', agent, headers: { authorization: `Bearer ${r.staffToken}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end('{"reason":"bench"}');
    });
  const pending = () =>
    new Promise<string[]>((resolve, reject) => {
      const req = request(`${r.adminUrl}/v1/approvals?status=pending`, { agent, headers: { authorization: `Bearer ${r.staffToken}` } }, (res) => {
        let t = '';
        res.on('data', (d) => (t += d));
        res.on('end', () => resolve((JSON.parse(t) as { approvals: { id: string }[] }).approvals.map((a) => a.id)));
      });
      req.on('error', reject);
      req.end();
    });
  const c = new pg.Client({ host: '127.0.0.1', port: r.port, user: 'bot', database: 'payments', password: await r.botToken(), ssl: { rejectUnauthorized: false } });
  await c.connect();
  let onRequest: ((id: string) => void) | undefined;
  c.on('notice', (n) => {
    const id = /request (apr_[\w-]+)/.exec(n.message ?? '')?.[1];
    if (id) onRequest?.(id);
  });
  return {
    round: async (i) => {
      const t0 = performance.now();
      await c.query('SELECT 1');
      const plain = performance.now() - t0;
      const held = new Promise<string>((res) => (onRequest = res));
      const q = c.query('INSERT INTO audit_scratch (v) VALUES ($1)', [`bench ${i}`]);
      q.catch(() => undefined); // awaited below; a failure elsewhere must not crash on it first
      const id = await held;
      // In a fleet the request is offered to other appliances a moment after the client's NOTICE; a
      // decision before that is refused (409). Wait until the approver's appliance lists it (not timed).
      while (!(await pending()).includes(id)) await new Promise((res) => setTimeout(res, 5));
      const start = performance.now();
      await approve(id);
      await q;
      return { approve: performance.now() - start, plain };
    },
    close: async () => {
      await c.end();
      agent.destroy();
    },
  };
}

/** Rounds of each rig in turn (the first WARMUP rounds warm up TLS and caches), so a load change on this shared machine hits all of them alike. */
async function measure(rigs: Rig[]): Promise<{ samples: number[]; plain: number[] }[]> {
  const opened = await Promise.all(rigs.map(open));
  const out = rigs.map(() => ({ samples: [] as number[], plain: [] as number[] }));
  try {
    for (let i = 0; i < ROUNDS + WARMUP; i++) {
      for (const [k, o] of opened.entries()) {
        const r = await o.round(i);
        if (i >= WARMUP) (out[k]!.samples.push(r.approve), out[k]!.plain.push(r.plain));
      }
    }
  } finally {
    for (const o of opened) await o.close();
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => Number(x.toFixed(3));

// 1. In-process gateway (the historical figure), alone: the others would share its event loop.
const f = await startGatewayFixture({ policies: POLICIES });
let inProcess: { samples: number[]; plain: number[] };
try {
  [inProcess] = (await measure([{ port: f.port, adminUrl: f.adminUrl, adminCa: f.adminCa, botToken: () => f.token(), staffToken: await f.staffToken('dave@acme.test', ['dba']) }])) as [typeof inProcess];
} finally {
  await f.stop();
}
console.log(`in-process gateway: approve → execution over ${inProcess.samples.length} rounds: median ${median(inProcess.samples).toFixed(2)} ms, p95 ${pct(inProcess.samples, 95).toFixed(2)} ms, max ${Math.max(...inProcess.samples).toFixed(2)} ms`);
console.log(`(for scale: a plain SELECT 1 round trip through the gateway: median ${median(inProcess.plain).toFixed(2)} ms)`);
const out: Record<string, unknown> = {
  bench: 'approvals',
  rounds: inProcess.samples.length,
  approve_to_exec_ms: ms(median(inProcess.samples)),
  approve_to_exec_p95_ms: ms(pct(inProcess.samples, 95)),
  select_roundtrip_ms: ms(median(inProcess.plain)),
};

if (!values['skip-fleet']) {
  // 2. One `vigil serve` process on its own SQLite, and 3. two sharing a PostgreSQL (held on A, approved
  // through B): both running at once, measured in alternating rounds.
  const single = await startFleet({ policies: POLICIES, appliances: 1, shareState: false });
  const fleet = await startFleet({ policies: POLICIES, appliances: 2 });
  let one: { samples: number[]; plain: number[] };
  let two: { samples: number[]; plain: number[] };
  try {
    const [s] = single.nodes;
    const [a, b] = fleet.nodes;
    [one, two] = (await measure([
      { port: s!.pgPort, adminUrl: s!.adminUrl, adminCa: s!.adminCa, botToken: () => single.token(), staffToken: await single.staffToken('dave@acme.test', ['dba']) },
      { port: a!.pgPort, adminUrl: b!.adminUrl, adminCa: b!.adminCa, botToken: () => fleet.token(), staffToken: await fleet.staffToken('dave@acme.test', ['dba']) },
    ])) as [typeof one, typeof two];
  } finally {
    await single.stop();
    await fleet.stop();
  }
  const ratio = median(two.samples) / median(one.samples);
  console.log(`single appliance (vigil serve, SQLite): median ${median(one.samples).toFixed(2)} ms, p95 ${pct(one.samples, 95).toFixed(2)} ms`);
  console.log(`fleet (held on A, approved through B, shared PostgreSQL + LISTEN/NOTIFY): median ${median(two.samples).toFixed(2)} ms, p95 ${pct(two.samples, 95).toFixed(2)} ms — ${ratio.toFixed(2)}× the single appliance (target ≤ 2×)`);
  Object.assign(out, {
    single_approve_to_exec_ms: ms(median(one.samples)),
    single_approve_to_exec_p95_ms: ms(pct(one.samples, 95)),
    fleet_approve_to_exec_ms: ms(median(two.samples)),
    fleet_approve_to_exec_p95_ms: ms(pct(two.samples, 95)),
    fleet_approval_latency_ratio: Number(ratio.toFixed(3)),
  });
}
console.log(JSON.stringify(out));
