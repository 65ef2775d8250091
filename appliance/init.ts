/**
 * `vigil init`: a new appliance directory — config, signing key (0600), database, data directories,
 * the auditors' public keys, and trust.json for the auditors to pin.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { toHex, utf8 } from '../shared/bytes.ts';
import { sha256 } from '../shared/crypto/hash.ts';
import { VigilError } from '../shared/errors.ts';
import { parseAuditorPublicKey } from '../shared/evidence/auditor-key.ts';
import { loadOrCreateFingerprintKey } from './keys/fingerprint-key.ts';
import { KeyRing } from './keys/key-ring.ts';
import { makeSelfSignedCertificate } from './tls/self-signed.ts';
import { buildTrustFile } from './keys/trust-file.ts';
import { TransparencyLog } from './log/transparency-log.ts';
import { openDatabase, setMeta } from './store/database.ts';
import type { AnyProtocolAdapter } from './protocols/adapter.ts';
import { PROTOCOLS } from './protocols/registry.ts';

export interface InitResult {
  dir: string;
  configPath: string;
  trustPath: string;
  applianceId: string;
  keyId: string;
  fingerprint: string;
  /** What the protocol adapters made (e.g. the SSH host key and its fingerprint), one line each. */
  notes: string[];
}

export function initAppliance(opts: { dir: string; auditors: readonly string[]; now?: Date; tls?: boolean }): InitResult {
  const dir = resolve(opts.dir);
  if (existsSync(join(dir, 'vigil.yaml'))) {
    throw new VigilError('E_EXISTS', `${dir} already holds an appliance (vigil.yaml exists)`, { hint: 'choose another --dir' });
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new VigilError('E_EXISTS', `${dir} is not empty`, { hint: 'give a new or empty directory' });
  }
  if (opts.auditors.length === 0) throw new VigilError('E_USAGE', 'at least one --auditor PATH.pub is required');
  const auditorKeys = opts.auditors.map((p) => {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch {
      throw new VigilError('E_USAGE', `cannot read auditor public key ${p}`, { hint: 'make one with `vigil keys auditor --out PATH`' });
    }
    return { path: p, key: parseAuditorPublicKey(text) };
  });

  const now = opts.now ?? new Date();
  for (const d of ['', 'keys', 'keys/auditors', 'data', 'data/archives', 'tls', 'secrets']) mkdirSync(join(dir, d), { recursive: true });
  for (const d of ['secrets', 'keys', 'data', 'data/archives']) chmodSync(join(dir, d), 0o700);
  const auditorFiles = auditorKeys.map(({ path, key }) => {
    const rel = `keys/auditors/${key.keyId}.pub`;
    copyFileSync(path, join(dir, rel));
    return rel;
  });

  const applianceId = randomUUID();
  if (opts.tls !== false) makeSelfSignedCertificate(join(dir, 'tls'), { commonName: 'vigil', hosts: ['localhost', '127.0.0.1', '::1', hostname()] });
  const notes = PROTOCOLS.flatMap((a: AnyProtocolAdapter) => a.init.files?.(dir) ?? []);
  const configText = renderConfig(applianceId, auditorFiles, opts.tls !== false);
  const configPath = join(dir, 'vigil.yaml');
  writeFileSync(configPath, configText, { mode: 0o640 });

  const db = openDatabase(join(dir, 'data', 'vigil.db'));
  try {
    const key = KeyRing.create(db, join(dir, 'keys'), now);
    loadOrCreateFingerprintKey(join(dir, 'keys'));
    const keys = new KeyRing(db, join(dir, 'keys'));
    const log = new TransparencyLog(db, applianceId, keys.signer, () => now);
    db.transaction(() => {
      log.append('appliance.initialized', { applianceId, keyId: key.keyId });
      log.append('key.created', { keyId: key.keyId, fingerprint: key.fingerprint, auditors: auditorKeys.map((a) => a.key.keyId) });
      const digest = toHex(sha256(utf8(configText)));
      log.append('config.changed', { digest, path: configPath });
      setMeta(db, 'config_digest', digest);
    })();
    const cp = log.checkpoint();
    log.markExported(cp.checkpoint.size); // auditors pin it: every export proves consistency from here
    const trustPath = join(dir, 'trust.json');
    writeFileSync(trustPath, JSON.stringify(buildTrustFile(applianceId, keys.records(), cp.envelope, now), null, 2) + '\n');
    return { dir, configPath, trustPath, applianceId, keyId: key.keyId, fingerprint: key.fingerprint, notes };
  } finally {
    db.close();
  }
}

/** One block per registered protocol (each adapter says what), then the admin API when there is TLS for it. */
function renderListeners(tls: boolean): string {
  const blocks = PROTOCOLS.map((a) => a.init.listener({ tls })).join('');
  const admin = tls ? "  admin:                # the approvers' HTTPS API (vigil approvals …)\n    address: 127.0.0.1:8443\n    tls: { cert: tls/server.crt, key: tls/server.key }\n" : '';
  return blocks || admin ? `listeners:\n${blocks}${admin}` : 'listeners: {}\n';
}

function renderConfig(applianceId: string, auditors: readonly string[], tls: boolean): string {
  return `# Vigil appliance configuration (docs/configuration.md). Paths are relative to this file.
version: 1

appliance:
  id: ${applianceId}
  dataDir: data        # database, session archives
  keysDir: keys        # appliance signing keys (0600), auditor public keys

evidence:
  # Every session archive is sealed to all of these auditor public keys.
  auditors:
${auditors.map((a) => `    - ${a}`).join('\n')}
  anchorIntervalSeconds: 5        # running sessions' chain heads anchored in the log
  checkpointIntervalSeconds: 60   # signed log checkpoints
  heartbeatIntervalSeconds: 300
  frameTargetKiB: 64
  durability: fsync               # fsync | write (see docs/configuration.md)
  postgres: { resultRows: 100 }   # masked result rows recorded per PostgreSQL statement

${renderListeners(tls)}
# Who may connect: OIDC identity providers (tokens are sent as the PostgreSQL password, over TLS).
identityProviders: []
#  - name: github
#    issuer: https://token.actions.githubusercontent.com
#    audiences: [vigil]
#    jwks: { file: keys/github-jwks.json }     # or { url: https://…/.well-known/jwks }
#    algorithms: [RS256]
#    profile: github-actions

# What they may reach. Credentials come from a file or the environment, never from this file.
targets: []
${PROTOCOLS.map((a) => a.init.targetExample).join('')}
# And what they may do there (docs/policy.md).
policies: []
#  - name: ci-readonly
#    match: { subjects: ['repo:acme/*'] }
#    targets: [payments-db]
#    classes: { read: allow, transaction: allow, write: require-approval, default: block }
#    approvers: { groups: [dba], required: 1 }   # docs/approvals.md

approvals:
  expirySeconds: 600     # an undecided request is denied after this
  webhooks: []
#  - { url: https://hooks.slack.com/services/…, format: slack }
`;
}
