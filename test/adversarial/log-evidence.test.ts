/**
 * Lies in the signed transparency log about real gateway sessions. The attacker here holds the appliance's
 * signing key, or wrote to its database before the appliance signed the next checkpoint (what a stolen or
 * tampered database achieves): either way the log's entries, root, checkpoint, consistency proofs and bundle
 * manifest are all re-signed and consistent. What the attacker cannot rewrite is what an auditor already
 * holds — the session archives (signed when sealed) and the checkpoint they pinned — so:
 *
 *   - a `session.identified` naming another subject, issuer, method, target or protocol than the archive
 *     must fail, with and without the auditor key; removing it once the appliance logs identities must fail;
 *   - a forked log (an entry the pinned checkpoint covers rewritten) must fail against the pin, whatever
 *     consistency proof the attacker ships.
 *
 * Each forgery goes through the same re-signing as an untouched control that must verify, so a failure is
 * the check's doing, not the forger's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../shared/bytes.ts';
import { signCheckpoint } from '../../shared/evidence/checkpoint.ts';
import { memorySource } from '../../shared/evidence/byte-source.ts';
import { SIGNED_LABELS, signStatement, type SignedEnvelope, type Signer } from '../../shared/evidence/signed.ts';
import { parseTrustFile, type TrustFile } from '../../shared/evidence/trust.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { verifyBundle } from '../../shared/evidence/verify/verify-bundle.ts';
import { consistencyProof, leafHash, rootFromLeafHashes } from '../../shared/merkle/index.ts';
import { signingKeyPath } from '../../appliance/keys/key-ring.ts';
import { loadSigningKey } from '../../appliance/keys/signing-key.ts';
import { vigilAsync } from '../helpers/cli.ts';
import { failures, memberBytes, rewriteBundle } from '../helpers/evidence.ts';
import { startGatewayFixture, type GatewayFixture } from '../helpers/gateway.ts';

type Entry = Record<string, unknown> & { i: number; type: string };
interface Proof {
  fromSize: number;
  fromRoot: string;
  proof: string[];
}

let f: GatewayFixture;
let signer: Signer;
/** Exported while the gateway ran: three sessions with a proven identity, one refused identity. */
let first: Uint8Array;
/** The trust file after `first` verified: its checkpoint pinned. */
let pinned: TrustFile;
/** Exported later, with two more sessions. */
let later: Uint8Array;

const text = async (b: Uint8Array, name: string) => new TextDecoder().decode(await memberBytes(b, name));
const json = <T>(s: string) => JSON.parse(s) as T;

async function session(database: string): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database, password: await f.token(), ssl: { rejectUnauthorized: false } });
  try {
    await c.connect();
    await c.query('SELECT 1');
  } catch {
    /* refused: still evidence */
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function exportNow(name: string): Promise<Uint8Array> {
  for (let i = 0; i < 500 && f.gateway.appliance.recorder.liveSessions().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  const out = join(f.dir, name);
  const r = await vigilAsync(['export', '--config', f.configPath, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  return new Uint8Array(readFileSync(out));
}

beforeAll(async () => {
  f = await startGatewayFixture();
  await session('payments');
  await session('payments');
  await session('no-such-target');
  await f.psql('SELECT 1', { token: await f.token({ audience: 'not-vigil' }) });
  first = await exportNow('first.vigil');
  const checkpoint = json<SignedEnvelope>(await text(first, 'checkpoint.json'));
  pinned = parseTrustFile(JSON.stringify({ ...f.trust, checkpoint }));
  await session('payments');
  await session('payments');
  later = await exportNow('later.vigil');
  const keyId = f.trust.keys[0]!.keyId;
  signer = loadSigningKey(signingKeyPath(join(f.dir, 'appliance', 'keys'), keyId));
}, 240_000);

afterAll(async () => {
  await f?.stop();
});

/**
 * Re-signs a full-log bundle after `edit` rewrote its entries: indices renumbered, root rebuilt, checkpoint
 * and bundle manifest signed with the appliance key, consistency proofs recomputed over the edited log
 * (then passed through `proofs`, for an attacker who ships something else).
 */
async function forge(bundle: Uint8Array, edit: (entries: Entry[]) => Entry[], proofs: (p: Proof[]) => Proof[] = (p) => p): Promise<Uint8Array> {
  const manifestEnv = json<SignedEnvelope>(await text(bundle, 'bundle.json'));
  const manifest = json<{ log: { from: number; to: number }; checkpoint: { size: number; root: string } }>(manifestEnv.signed);
  expect(manifest.log.from).toBe(0);
  const entries = (await text(bundle, 'log/entries.jsonl')).split('\n').filter(Boolean).map((l) => json<Entry>(l));
  const lines = edit(entries).map((e, i) => JSON.stringify({ ...e, i }));
  const leaves = lines.map((l) => leafHash(utf8(l)));
  const size = leaves.length;
  const subtree = (b: number, e: number) => rootFromLeafHashes(leaves.slice(b, e));
  const root = toHex(subtree(0, size));
  const cp = json<{ applianceId: string; time: string }>(json<SignedEnvelope>(await text(bundle, 'checkpoint.json')).signed);
  const checkpoint = signCheckpoint({ applianceId: cp.applianceId, size, root, time: cp.time }, signer);
  const shipped = json<Proof[]>(await text(bundle, 'log/consistency.json'))
    .filter((p) => p.fromSize <= size)
    .map((p) => ({ fromSize: p.fromSize, fromRoot: toHex(subtree(0, p.fromSize)), proof: consistencyProof(p.fromSize, size, subtree).map(toHex) }));
  const signedManifest = signStatement(SIGNED_LABELS.bundleManifest, { ...json<object>(manifestEnv.signed), checkpoint: { size, root }, log: { from: 0, to: size } }, signer);
  return rewriteBundle(bundle, {
    'bundle.json': utf8(JSON.stringify(signedManifest)),
    'checkpoint.json': utf8(JSON.stringify(checkpoint)),
    'log/entries.jsonl': utf8(lines.map((l) => l + '\n').join('')),
    'log/consistency.json': utf8(JSON.stringify(proofs(shipped))),
  });
}

const verify = (b: Uint8Array, trust: TrustFile, withKey: boolean): Promise<VerificationReport> => verifyBundle(memorySource(b), trust, withKey ? { auditor: f.auditor } : {});

/** Changes one field of the `n`-th session.identified entry. */
const alter = (n: number, field: string, value: string) => (entries: Entry[]) => {
  const target = entries.filter((e) => e.type === 'session.identified')[n]!;
  return entries.map((e) => (e === target ? { ...e, [field]: value } : e));
};

describe('the forger is sound', () => {
  it('an untouched log, re-signed, verifies with and without the key, against the original trust and the pin', async () => {
    const control = await forge(first, (e) => e);
    for (const withKey of [true, false]) expect(failures(await verify(control, f.trust, withKey))).toEqual([]);
    const report = await verify(control, f.trust, true);
    expect(report.checks.find((c) => c.id === 'log-inclusion')!.summary).toMatch(/identity and target of 3 of 3 session\(s\) with a proven identity agree with the signed log/);
    const controlLater = await forge(later, (e) => e);
    for (const withKey of [true, false]) expect(failures(await verify(controlLater, pinned, withKey))).toEqual([]);
  });
});

describe('session.identified disagreeing with the archive', () => {
  const lies: [string, string][] = [
    ['subject', 'repo:acme/someone-else:ref:refs/heads/main'],
    ['issuer', 'https://attacker.example'],
    ['method', 'mtls'],
    ['target', 'payments-replica'],
    ['protocol', 'ssh'],
  ];
  for (const [field, value] of lies) {
    it(`a rewritten ${field} fails, naming the session and the field (with and without the key)`, async () => {
      const forged = await forge(first, alter(1, field, value));
      for (const withKey of [true, false]) {
        const r = await verify(forged, f.trust, withKey);
        expect(r.ok).toBe(false);
        const found = failures(r).filter((m) => m.startsWith('log-inclusion: session #'));
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(new RegExp(`^log-inclusion: session #\\d+ \\([0-9a-f]{8}\\): the signed log's session\\.identified \\(entry \\d+\\) names ${field} "${value.replaceAll('.', '\\.')}", the archive's`));
      }
    });
  }

  it('a second, contradicting session.identified for a session fails', async () => {
    const forged = await forge(first, (entries) => {
      const real = entries.find((e) => e.type === 'session.identified')!;
      const at = entries.indexOf(real) + 1;
      return [...entries.slice(0, at), { ...real, subject: 'repo:acme/someone-else' }, ...entries.slice(at)];
    });
    const r = await verify(forged, f.trust, true);
    expect(failures(r).join('\n')).toMatch(/log-inclusion: session #\d+ \([0-9a-f]{8}\): the signed log identifies this session 2 times/);
  });

  it('removing one session.identified, once the appliance logs them, fails', async () => {
    const forged = await forge(first, (entries) => {
      const last = entries.filter((e) => e.type === 'session.identified').at(-1)!;
      return entries.filter((e) => e !== last);
    });
    for (const withKey of [true, false]) {
      const r = await verify(forged, f.trust, withKey);
      expect(failures(r).join('\n')).toMatch(/log-inclusion: session #\d+ \([0-9a-f]{8}\): the signed log has no session\.identified for this session, though it identifies session #\d+ started before it/);
    }
  });

  it('a log without any session.identified (an older appliance) passes, and says identity is not in the signed log', async () => {
    const older = await forge(first, (entries) => entries.filter((e) => e.type !== 'session.identified'));
    const r = await verify(older, f.trust, true);
    expect(failures(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.find((c) => c.id === 'log-inclusion')!.summary).toMatch(/identity not in the signed log for 3 session\(s\)/);
  });
});

describe('a forked log against the pinned checkpoint', () => {
  const pinnedSize = () => json<{ size: number }>(pinned.checkpoint.signed).size;
  /** Rewrites an entry the pinned checkpoint covers that no other check looks at. */
  const fork = (entries: Entry[]) => {
    const victim = entries.find((e) => e.type === 'config.changed' && e.i < pinnedSize())!;
    return entries.map((e) => (e === victim ? { ...e, digest: 'ee'.repeat(32) } : e));
  };

  it('fails with the proofs computed over the fork', async () => {
    const r = await verify(await forge(later, fork), pinned, false);
    expect(r.checks.find((c) => c.id === 'log-consistency')!.status).toBe('fail');
    expect(failures(r).join('\n')).toMatch(/log-consistency: the log's checkpoint \d+ has another root than the pinned one: the log was rewritten/);
    expect(failures(r).every((m) => m.startsWith('log-consistency: '))).toBe(true);
  });

  it('fails when the attacker claims the pinned root for its proof', async () => {
    const claimPinned = (p: Proof[]) => p.map((x) => (x.fromSize === pinnedSize() ? { ...x, fromRoot: json<{ root: string }>(pinned.checkpoint.signed).root } : x));
    const r = await verify(await forge(later, fork, claimPinned), pinned, false);
    expect(failures(r).join('\n')).toMatch(/log-consistency: checkpoint \d+ is not consistent with the pinned checkpoint \d+|log-consistency: the log entries rebuild another root at the pinned size/);
  });

  it('fails when the attacker ships no proof from the pinned size', async () => {
    const drop = (p: Proof[]) => p.filter((x) => x.fromSize !== pinnedSize());
    const r = await verify(await forge(later, fork, drop), pinned, false);
    expect(failures(r).join('\n')).toMatch(/log-consistency: the log entries rebuild another root at the pinned size \d+: the log was rewritten/);
  });
});
