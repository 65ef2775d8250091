/** The SSH adapter's configuration: its listener (listeners.ssh) and its targets (protocol: ssh). */
import ssh2 from 'ssh2';
import { z } from 'zod';
import { hostPort } from '../../net/host-port.ts';
import { credentialSchema } from '../../targets/config.ts';

/** One OpenSSH public key line (`ssh-ed25519 AAAA… comment`); known_hosts lines may start with host names. */
const publicKeyLine = (what: string) =>
  z
    .string()
    .min(1)
    .refine((s) => !(ssh2.utils.parseKey(keyPart(s)) instanceof Error), `not an OpenSSH public key line (${what})`);

/** The `type base64` part of an authorized_keys or known_hosts line (a leading host list is dropped). */
export function keyPart(line: string): string {
  const words = line.trim().split(/\s+/);
  const at = words.findIndex((w) => /^(ssh-|ecdsa-|sk-)/.test(w));
  return at < 0 ? line.trim() : words.slice(at, at + 2).join(' ');
}

export const sshListenerSchema = z.strictObject({
  address: hostPort.default('127.0.0.1:2222'),
  /** The gateway's host private key (OpenSSH format; `vigil init` makes an Ed25519 one). */
  hostKey: z.string().min(1).default('keys/ssh_host_ed25519_key'),
  /**
   * Who may connect with a plain public key: each entry names an identity (subject, groups, for policy
   * `match:`) and the public keys that prove it. A key listed twice is an error (it would be ambiguous).
   */
  authorizedKeys: z
    .array(
      z.strictObject({
        subject: z.string().min(1),
        groups: z.array(z.string().min(1)).default([]),
        keys: z.array(publicKeyLine('authorizedKeys[].keys')).min(1),
      }),
    )
    .default([]),
  /**
   * OpenSSH user certificate authorities (docs/ssh-gateway.md, "Client identity"): a certificate signed by
   * one of an entry's keys logs its holder in as `subject` = the certificate's key id, `provider` = `name`,
   * with the entry's groups; the target login must be among its principals.
   */
  userCertificateAuthorities: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, dots, dashes (policies match it as a provider)'),
        /** CA public key lines, as in sshd's TrustedUserCAKeys (more than one: a rotation). */
        keys: z.array(publicKeyLine('userCertificateAuthorities[].keys')).min(1),
        groups: z.array(z.string().min(1)).default([]),
        clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
        maxLifetimeSeconds: z.number().int().positive().optional(),
        minRsaBits: z.number().int().min(1024).max(16384).default(2048),
      }),
    )
    .default([])
    .superRefine((cas, ctx) => {
      const names = new Set<string>();
      cas.forEach((c, i) => {
        if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `certificate authority name ${c.name} is used twice` });
        names.add(c.name);
      });
    }),
  /**
   * OIDC token in, certificate out (docs/ssh-gateway.md, "Certificates for tokens"): POST /v1/ssh/certificates
   * on the admin API (listeners.admin) trades a valid identity token and a public key for a user certificate
   * minutes long, signed by this CA key, which this listener then trusts: the session's identity is the
   * token's. Absent: no certificates are issued.
   */
  certificateIssuer: z
    .strictObject({
      /** The CA's private key (Ed25519, OpenSSH format); vigil init writes it. */
      key: z.string().min(1).default('keys/ssh_user_ca_ed25519_key'),
      defaultLifetimeSeconds: z.number().int().min(60).max(86_400).default(900),
      maxLifetimeSeconds: z.number().int().min(60).max(86_400).default(3_600),
      /** Identity providers whose tokens may be traded (default: every provider in identityProviders). */
      providers: z.array(z.string().min(1)).optional(),
    })
    .refine((c) => c.defaultLifetimeSeconds <= c.maxLifetimeSeconds, { message: 'defaultLifetimeSeconds is more than maxLifetimeSeconds', path: ['defaultLifetimeSeconds'] })
    .optional(),
  /**
   * An OIDC token (identityProviders) as the SSH password or keyboard-interactive answer, for tools that
   * can only send a password. Off by default.
   */
  acceptIdentityTokens: z.boolean().default(false),
  /** The gateway pings an authenticated client this often (keepalive@openssh.com) ... */
  keepaliveIntervalSeconds: z.number().int().min(1).max(3_600).default(15),
  /** ... and drops it after this many pings in a row went unanswered (recorded as the close reason). */
  keepaliveCountMax: z.number().int().min(1).max(100).default(3),
  /** Session channels open at once on one connection (as sshd's MaxSessions, default 10); more are refused. */
  maxSessionChannels: z.number().int().min(1).max(1_000).default(10),
  /** Port-forward channels open at once on one connection; more are refused. */
  maxForwardChannels: z.number().int().min(1).max(10_000).default(64),
  /** Authenticated sessions at once (see listeners.postgres.maxConnections). */
  maxConnections: z.number().int().min(1).max(100_000).default(2_000),
  maxUnauthenticated: z.number().int().min(1).max(100_000).default(512),
  maxUnauthenticatedPerAddress: z.number().int().min(1).max(100_000).default(64),
  /** From TCP accept to a proven identity (key exchange and user authentication). */
  authenticationTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
});
export type SshListenerConfig = z.infer<typeof sshListenerSchema>;

export const sshTargetSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, dots, dashes: clients name it in the SSH user name (login+target)'),
  protocol: z.literal('ssh'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  /** The account Vigil logs in to on the target. */
  user: z.string().min(1),
  /** Other accounts a client may ask for with `login+target` (default: only `user`). */
  logins: z.array(z.string().min(1)).default([]),
  /**
   * How Vigil logs in: a private key (OpenSSH format) from a file or an environment variable, or — so that no
   * long-lived target key exists — `certificate`: a fresh key pair per session with a certificate minutes
   * long, signed by the appliance's target CA (`vigil init` writes it; the target's sshd lists its public key
   * in TrustedUserCAKeys). docs/ssh-gateway.md, "Target credentials".
   */
  credential: z.union([
    credentialSchema,
    z.strictObject({
      certificate: z.strictObject({
        /** The CA's private key (Ed25519, OpenSSH format). */
        caKey: z.string().min(1).default('keys/ssh_target_ca_ed25519_key'),
        /** How long each session's certificate is valid: sshd checks it at login only. */
        lifetimeSeconds: z.number().int().min(10).max(3_600).default(120),
      }),
    }),
  ]),
  /**
   * The target's host keys, as known_hosts or .pub lines (`ssh-ed25519 AAAA…`, a leading host list is
   * ignored). A target presenting any other key is refused and the attempt recorded.
   */
  hostKeys: z.array(publicKeyLine('hostKeys')).min(1),
  connectTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
});
export type SshTarget = z.infer<typeof sshTargetSchema>;
