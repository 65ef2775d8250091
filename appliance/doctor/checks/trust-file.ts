/**
 * The trust file auditors pin names this appliance and its current signing key (id and fingerprint, valid
 * now), and its checkpoint is one this appliance signed and still has (so later bundles prove consistency).
 */
import { existsSync, readFileSync } from 'node:fs';
import { toBase64 } from '../../../shared/bytes.ts';
import { describeError } from '../../../shared/errors.ts';
import { readCheckpoint } from '../../../shared/evidence/checkpoint.ts';
import { fingerprint } from '../../../shared/evidence/key-id.ts';
import { SIGNED_LABELS, verifyEnvelopeSignature } from '../../../shared/evidence/signed.ts';
import { parseTrustFile } from '../../../shared/evidence/trust.ts';
import { KeyRing } from '../../keys/key-ring.ts';
import { needConfig, needDb, isResult, type DoctorCheck, type DoctorResult } from '../check.ts';

export const trustFileCheck: DoctorCheck = {
  id: 'trust-file',
  title: 'the trust file matches the signing key',
  async run(ctx) {
    const check = 'trust-file';
    const loaded = needConfig(ctx, check);
    if (isResult(loaded)) return [loaded];
    const db = needDb(ctx, check);
    if (isResult(db)) return [db];
    const fix = `write a fresh one with \`vigil trust --config ${ctx.configPath} --out ${ctx.trustPath}\` and give it to the auditors`;
    if (!existsSync(ctx.trustPath)) return [{ check, status: 'unknown', detail: `no trust file at ${ctx.trustPath} to compare`, fix: `pass --trust FILE (the one auditors pinned), or ${fix}` }];
    let ring: KeyRing;
    try {
      ring = new KeyRing(db, loaded.resolvePath(loaded.config.appliance.keysDir));
    } catch (e) {
      return [{ check, status: 'unknown', detail: `not compared: the signing key does not load (${describeError(e)})` }];
    }
    const out: DoctorResult[] = [];
    try {
      const trust = parseTrustFile(readFileSync(ctx.trustPath, 'utf8'));
      const key = ring.current;
      const fp = fingerprint(key.publicKey);
      const problems: string[] = [];
      if (trust.applianceId !== loaded.config.appliance.id) problems.push(`it names appliance ${trust.applianceId}, this is ${loaded.config.appliance.id}`);
      const pinned = trust.keys.find((k) => k.keyId === key.keyId);
      const now = ctx.now().toISOString();
      if (!pinned) problems.push(`it does not list the current signing key ${key.keyId} (rotated since it was written?)`);
      else {
        if (pinned.fingerprint !== fp || pinned.publicKey !== toBase64(key.publicKey)) problems.push(`its key ${key.keyId} has another public key/fingerprint than the signing key`);
        if (pinned.validUntil !== null && pinned.validUntil < now) problems.push(`it says key ${key.keyId} was retired at ${pinned.validUntil}`);
      }
      const cp = readCheckpoint(trust.checkpoint);
      const signer = ring.records().find((r) => r.keyId === trust.checkpoint.keyId);
      if (!signer) problems.push(`its checkpoint is signed by ${trust.checkpoint.keyId}, a key this appliance never had`);
      else if (!verifyEnvelopeSignature(SIGNED_LABELS.checkpoint, trust.checkpoint, Buffer.from(signer.publicKey, 'base64'))) problems.push('its checkpoint signature does not verify with this appliance\'s key');
      const have = db.prepare('SELECT COUNT(*) AS n FROM log_entries').get() as { n: number };
      if (cp.size > have.n) problems.push(`its checkpoint covers ${cp.size} log entries, this appliance has ${have.n} (a restored or different appliance: its next bundle would fail as a rollback)`);
      if (problems.length) out.push({ check, status: 'fail', detail: `${ctx.trustPath}: ${problems.join('; ')}`, fix });
      else out.push({ check, status: 'pass', detail: `${ctx.trustPath} pins key ${key.keyId} (fingerprint ${fp.slice(0, 16)}…) and a checkpoint of ${cp.size} entries this log still extends` });
    } catch (e) {
      out.push({ check, status: 'fail', detail: `${ctx.trustPath}: ${describeError(e)}`, fix });
    }
    return out;
  },
};
