/**
 * A short appliance life, run with Vigil's real evidence components (key ring, transparency log, session
 * recorder and pipeline, approval service, crash recovery) on a fixed clock and fixed ids:
 *
 *   init (key A, 3 entries, checkpoint pinned in trust.json) → appliance.started
 *   session 1: a read, an UPDATE held and approved, an Execute with parameters held and denied
 *   key rotation A → B
 *   session 2: a read, sealed under key B
 *   session 3: a command, anchored, then the process "dies" mid-write; a restart cuts the torn record
 *              and seals the archive as interrupted
 *
 * What a protocol adapter adds (results, errors) is recorded as the PostgreSQL adapter records it.
 */
import { appendFileSync, mkdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, utf8 } from '../../shared/bytes.ts';
import { sha256 } from '../../shared/crypto/hash.ts';
import type { TrustFile } from '../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { ApprovalService } from '../../appliance/approvals/service.ts';
import { SessionRecorder } from '../../appliance/evidence/session-recorder.ts';
import { KeyRing, signingKeyPath } from '../../appliance/keys/key-ring.ts';
import { buildTrustFile } from '../../appliance/keys/trust-file.ts';
import { TransparencyLog } from '../../appliance/log/transparency-log.ts';
import { SessionPipeline, type PipelineSession, type SessionIdentity } from '../../appliance/pipeline/session.ts';
import { policySchema } from '../../appliance/config/schema.ts';
import { PolicyEngine, type CommandFacts } from '../../appliance/policy/engine.ts';
import { exactCommandBytes } from '../../appliance/protocols/postgres/command-bytes.ts';
import { openDatabase, setMeta, type Db } from '../../appliance/store/database.ts';
import { VECTOR_APPLIANCE_ID } from './basic-vectors.ts';

export const T0 = Date.parse('2026-01-02T10:00:00.000Z');
export const COMMAND_KEY = fromHexString('c0'.repeat(16) + '3c'.repeat(16));
export const SESSION_IDS = ['00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000102', '00000000-0000-4000-8000-000000000103'];
export const REQUEST_IDS = ['apr_vectorAPPROV', 'apr_vectorDENY00'];
/** The export window starts here: after the init entries and the first appliance.started. */
export const SINCE = '2026-01-02T10:02:00.000Z';

function fromHexString(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export interface ApplianceRun {
  db: Db;
  log: TransparencyLog;
  keys: KeyRing;
  dataDir: string;
  trust: TrustFile;
  clock: { now: () => Date; set: (ms: number) => void };
  /** Key seeds and public keys, A then B (read from the key files before A's is destroyed). */
  signingKeys: { keyId: string; seed: string; publicKey: string; createdAt: string }[];
  /** The exact command bytes the approvals bound, per request. */
  held: { requestId: string; sessionId: string; exactBytes: Uint8Array }[];
  interruptedArchive: string;
}

const ci: SessionIdentity = {
  method: 'oidc-jwt',
  provider: 'github',
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'repo:acme/payments:ref:refs/heads/main',
  groups: ['ci-payments'],
  tokenId: '6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
  tokenHash: 'b2k:' + '5e'.repeat(32),
  expiresAt: '2026-01-02T11:00:00.000Z',
  claims: { repository: 'acme/payments', ref: 'refs/heads/main', workflow: 'nightly' },
};
const alice = { subject: 'alice@acme.example', issuer: 'https://login.acme.example', groups: ['payments-leads'] };
const bob = { subject: 'bob@acme.example', issuer: 'https://login.acme.example', groups: ['payments-leads'] };
const read = (table: string): CommandFacts => ({ class: 'read', command: 'SELECT', tags: [], objects: [table], attributes: {} });
const write: CommandFacts = { class: 'write', command: 'UPDATE', tags: [], objects: ['public.accounts'], attributes: {} };

export async function runAppliance(dir: string, auditor: AuditorSecret): Promise<ApplianceRun> {
  let ms = T0;
  const clock = { now: () => new Date(ms), set: (v: number) => (ms = v) };
  const at = (seconds: number) => clock.set(T0 + seconds * 1000);
  const dataDir = join(dir, 'data');
  const keysDir = join(dir, 'keys');
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const db = openDatabase(join(dir, 'vigil.db'));

  // vigil init
  const first = KeyRing.create(db, keysDir, clock.now());
  const keys = new KeyRing(db, keysDir);
  const signingKeys = [keyFile(keysDir, first.keyId)];
  const log = new TransparencyLog(db, VECTOR_APPLIANCE_ID, keys.signer, clock.now);
  const configDigest = toHex(sha256(utf8('# vigil.yaml of the test-vector appliance\n')));
  log.append('appliance.initialized', { applianceId: VECTOR_APPLIANCE_ID, keyId: first.keyId });
  log.append('key.created', { keyId: first.keyId, fingerprint: first.fingerprint, auditors: [auditor.keyId] });
  log.append('config.changed', { digest: configDigest, path: '/etc/vigil/vigil.yaml' });
  setMeta(db, 'config_digest', configDigest);
  const pinned = log.checkpoint();
  log.markExported(pinned.checkpoint.size);
  const trust = buildTrustFile(VECTOR_APPLIANCE_ID, keys.records(), pinned.envelope, clock.now());

  at(60);
  log.append('appliance.started', { pid: 4242, recovered: 0 });
  const ids = [...SESSION_IDS];
  const requestIds = [...REQUEST_IDS];
  const recorderOptions = {
    db,
    log,
    keys,
    recipients: [{ keyId: auditor.keyId, publicKey: auditor.publicKey }],
    dataDir,
    applianceId: VECTOR_APPLIANCE_ID,
    frameTargetBytes: 64 * 1024,
    now: clock.now,
    newSessionId: () => ids.shift()!,
  };
  const recorder = new SessionRecorder(recorderOptions);
  const policy = new PolicyEngine([
    policySchema.parse({
      name: 'ci-payments',
      match: { subjects: ['repo:acme/payments:*'] },
      targets: ['payments-db'],
      classes: { read: 'allow', write: 'require-approval' },
      approvers: { groups: ['payments-leads'] },
    }),
  ]);
  const approvals = new ApprovalService({ db, log, expirySeconds: 300, howTo: (id) => `vigil approvals approve ${id}`, now: clock.now, newRequestId: () => requestIds.shift()! });
  const pipeline = new SessionPipeline({ recorder, policy, approvals, commandKey: COMMAND_KEY });
  const held: ApplianceRun['held'] = [];

  // Session 1: read, approved UPDATE (simple Query), denied Execute of a prepared UPDATE with parameters.
  at(180);
  const s1 = connect(pipeline, '10.20.0.14:51544');
  at(180.004);
  const c1 = s1.decide({ kind: 'sql', text: 'SELECT id, status FROM accounts WHERE id = 7', facts: [read('public.accounts')], fields: { fingerprint: '8d3f2a1b4c5e6f70' } });
  at(180.011);
  s1.record({ type: 'result', command: c1.id, status: 'ok', tag: 'SELECT 1', columns: ['id', 'status'], rows: [['7', 'open']], rowCount: 1, rowsOmitted: 0, durationMs: 6.5 });
  await recorder.anchorAll();
  at(181);
  const update = "UPDATE accounts SET status = 'closed' WHERE id = 7 -- vigil:justification=CHG-4411";
  const c2 = s1.decide({ kind: 'sql', text: update, facts: [write], fields: { fingerprint: '1a2b3c4d5e6f7081' } });
  const exact2 = exactCommandBytes('Q', Buffer.from(update, 'utf8'));
  await holdAndDecide(s1, c2, update, exact2, 'CHG-4411', () => approvals.decide(REQUEST_IDS[0]!, alice, 'approve', 'matches CHG-4411', '10.1.0.22'), clock, 181 + 94);
  held.push({ requestId: REQUEST_IDS[0]!, sessionId: s1.id, exactBytes: exact2 });
  at(275.003);
  s1.record({ type: 'result', command: c2.id, status: 'ok', tag: 'UPDATE 1', rowCount: 1, rowsOmitted: 0, durationMs: 3.25 });
  at(276);
  const prepared = 'UPDATE accounts SET limit_cents = $1 WHERE id = $2';
  const p3 = s1.decide({ kind: 'sql-prepare', text: prepared, facts: [write], fields: { fingerprint: '99aa88bb77cc66dd' }, prepareOnly: true, extra: { statement: 'raise_limit' } });
  const params = [Buffer.from('500000', 'utf8'), null, Buffer.from([0, 0, 0, 7])];
  const c3 = s1.decide({
    kind: 'sql',
    text: prepared,
    facts: [write],
    fields: { params: ['500000', null, '<binary 4 bytes>'], fingerprint: '99aa88bb77cc66dd' },
    extra: { portal: '', statement: 'raise_limit', prepared: p3.id },
  });
  const exact3 = exactCommandBytes('E', Buffer.from(prepared, 'utf8'), params, [0, 0, 1]);
  await holdAndDecide(s1, c3, prepared, exact3, undefined, () => approvals.decide(REQUEST_IDS[1]!, bob, 'deny', 'no change ticket', '10.1.0.23'), clock, 276 + 30);
  held.push({ requestId: REQUEST_IDS[1]!, sessionId: s1.id, exactBytes: exact3 });
  at(306.001);
  s1.record({ type: 'error', command: c3.id, code: '42501', message: 'not approved (Vigil rule "ci-payments/write"): denied by bob@acme.example: no change ticket' });
  at(310);
  await s1.close('client terminated the session (Terminate)');

  // Key rotation: A's key file is destroyed, B signs from now on.
  at(360);
  keys.rotate(log, clock.now());
  signingKeys.push(keyFile(keysDir, keys.current.keyId));

  // Session 2: one read, sealed under B.
  at(420);
  const s2 = connect(pipeline, '10.20.0.15:40112');
  at(420.002);
  const c4 = s2.decide({ kind: 'sql', text: 'SELECT count(*) FROM settlements', facts: [read('public.settlements')], fields: { fingerprint: '0f1e2d3c4b5a6978' } });
  at(420.009);
  s2.record({ type: 'result', command: c4.id, status: 'ok', tag: 'SELECT 1', columns: ['count'], rows: [['48210']], rowCount: 1, rowsOmitted: 0, durationMs: 4.75 });
  at(421);
  await s2.close('client terminated the session (Terminate)');

  // Session 3: durable and anchored, then the process dies.
  at(480);
  const s3 = connect(pipeline, '10.20.0.16:49002');
  at(480.003);
  s3.decide({ kind: 'sql', text: 'SELECT id FROM settlements WHERE day = current_date', facts: [read('public.settlements')], fields: { fingerprint: '7766554433221100' } });
  await s3.commit();
  await recorder.anchorAll();
  const live = recorder.liveSessions().find((x) => x.id === s3.id)!;
  const interruptedArchive = live.archivePath;
  live.abandon();
  // The crash tore the next record: a frame prefix announcing 200 bytes, of which 10 reached the disk.
  appendFileSync(interruptedArchive, Buffer.concat([Buffer.from([0x46, 0, 0, 0, 200]), Buffer.alloc(10, 0xee)]));
  // The last write, whole seconds: what file systems keep of a modification time is at least that.
  utimesSync(interruptedArchive, new Date(T0 + 481_000), new Date(T0 + 481_000));

  // Restart: recovery seals session 3 as interrupted, under the current key (B).
  at(600);
  const restarted = new SessionRecorder(recorderOptions);
  const recovered = await restarted.recoverInterrupted();
  log.append('appliance.started', { pid: 4243, recovered: recovered.length });
  return { db, log, keys, dataDir, trust, clock, signingKeys, held, interruptedArchive };
}

function connect(pipeline: SessionPipeline, address: string): PipelineSession {
  const s = pipeline.open('postgres', { address, tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384' });
  s.identityVerified(ci);
  const g = s.grantTarget('payments-db', { address: 'payments-db.internal:5432', user: 'vigil_gateway', credentialRef: 'file:secrets/payments-db' });
  if (!g.ok) throw new Error(g.reason);
  return s;
}

/** Holds a command; once the service offers the request (after the archive holds it), `decide` runs at `decidedAt` s. */
async function holdAndDecide(
  s: PipelineSession,
  cmd: ReturnType<PipelineSession['decide']>,
  display: string,
  exactBytes: Uint8Array,
  justification: string | undefined,
  decide: () => unknown,
  clock: ApplianceRun['clock'],
  decidedAt: number,
): Promise<void> {
  let told!: () => void;
  const offered = new Promise<void>((r) => (told = r));
  const outcome = s.hold(cmd, { display, exactBytes, classification: [write], ...(justification ? { justification } : {}) }, () => told());
  await offered;
  await new Promise((r) => setImmediate(r));
  clock.set(T0 + decidedAt * 1000);
  decide();
  await outcome;
}

function keyFile(keysDir: string, keyId: string): ApplianceRun['signingKeys'][number] {
  const f = JSON.parse(readFileSync(signingKeyPath(keysDir, keyId), 'utf8')) as { seed: string; publicKey: string; createdAt: string };
  return { keyId, seed: toHex(Buffer.from(f.seed, 'base64')), publicKey: toHex(Buffer.from(f.publicKey, 'base64')), createdAt: f.createdAt };
}
