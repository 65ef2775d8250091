/**
 * `vigil ssh-cert`: trades your identity token (VIGIL_TOKEN or --token-file) and an SSH public key for a
 * short-lived certificate from the appliance (POST /v1/ssh/certificates), written where OpenSSH looks for
 * it (`KEY-cert.pub` beside `KEY`), so plain `ssh -i KEY` uses it. `--new-key` makes a fresh key pair
 * first, so a CI job holds no long-lived key at all. The token is never printed.
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519 } from '../../protocols/ssh/openssh-key.ts';
import { call, common, connection } from '../admin-client.ts';
import { EXIT, UsageError, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'ssh-cert',
  summary: 'Trade your identity token and an SSH public key for a short-lived certificate (ssh through Vigil with no long-lived key).',
  options: {
    ...common,
    key: { type: 'string', value: 'FILE', description: 'the private key to certify (its FILE.pub is sent); default ~/.ssh/id_ed25519' },
    'new-key': { type: 'string', value: 'FILE', description: 'make a fresh Ed25519 key pair at FILE (0600) and certify it' },
    principal: { type: 'string', multiple: true, value: 'LOGIN', description: 'a target login to include (repeat; default: every login your policies grant)' },
    lifetime: { type: 'string', value: 'SECONDS', description: 'how long the certificate is valid (capped by the appliance)' },
  },
  examples: [
    'VIGIL_TOKEN=$ACTIONS_ID_TOKEN vigil ssh-cert --new-key ./vigil_key --config vigil.yaml && ssh -i ./vigil_key -p 2222 deploy+web-1@vigil.example uptime',
    'vigil ssh-cert --token-file /run/secrets/token --key ~/.ssh/id_ed25519 --principal deploy --lifetime 600 --url https://vigil.example:8443 --ca vigil-ca.pem',
  ],
});

export async function sshCert(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const v = a.values;
  if (v.key && v['new-key']) throw new UsageError('give --key or --new-key, not both', spec.name);
  const keyPath = v['new-key'] ?? v.key ?? join(homedir(), '.ssh', 'id_ed25519');
  const lifetime = v.lifetime === undefined ? undefined : Number(v.lifetime);
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 60)) throw new UsageError('--lifetime is whole seconds, at least 60', spec.name);
  const c = connection(v, spec.name);
  if (v['new-key']) {
    if (existsSync(keyPath)) throw new UsageError(`${keyPath} exists; --new-key does not overwrite a key`, spec.name);
    const pair = generateEd25519('vigil-ssh-cert');
    writeFileSync(keyPath, pair.private, { mode: 0o600 });
    chmodSync(keyPath, 0o600);
    writeFileSync(`${keyPath}.pub`, pair.public + '\n');
  }
  const pubPath = keyPath.endsWith('.pub') ? keyPath : `${keyPath}.pub`;
  let publicKey: string;
  try {
    publicKey = readFileSync(pubPath, 'utf8').trim();
  } catch {
    throw new UsageError(`cannot read the public key ${pubPath}`, spec.name);
  }
  let r: Record<string, unknown>;
  try {
    r = await call(c, 'POST', '/v1/ssh/certificates', { publicKey, ...(v.principal ? { principals: v.principal } : {}), ...(lifetime ? { lifetimeSeconds: lifetime } : {}) });
  } catch (e) {
    // A key pair made for this certificate is of no use without it: do not leave it behind.
    if (v['new-key']) for (const f of [keyPath, `${keyPath}.pub`]) rmSync(f, { force: true });
    throw e;
  }
  const out = `${pubPath.slice(0, -'.pub'.length)}-cert.pub`;
  writeFileSync(out, `${String(r['certificate'])}\n`);
  if (v.json) process.stdout.write(JSON.stringify({ ...r, file: out }, null, 2) + '\n');
  else
    process.stdout.write(
      [
        `certificate: ${out}`,
        `  key id      ${String(r['keyId'])}`,
        `  serial      ${String(r['serial'])}`,
        `  principals  ${(r['principals'] as string[]).join(', ')}`,
        `  valid       ${String(r['validAfter'])} → ${String(r['validBefore'])}`,
        `ssh picks it up beside its key: ssh -i ${pubPath.slice(0, -'.pub'.length)} -p PORT LOGIN+TARGET@VIGIL COMMAND`,
      ].join('\n') + '\n',
    );
  return EXIT.ok;
}
