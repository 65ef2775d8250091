/**
 * The SSH adapter (registry.ts lists it): plain OpenSSH clients run commands on targets through Vigil.
 * This slice: public-key identities, target selection in the user name, Vigil's own key login to the
 * target with its host key pinned, and `exec` governed by policy — allowed, blocked, or held for approval
 * — with its output masked and recorded (docs/ssh-gateway.md says what is not there yet).
 */
import { join } from 'node:path';
import type { ProtocolAdapter } from '../adapter.ts';
import { sshListenerSchema, sshTargetSchema } from './config.ts';
import { createHostKey } from './keys.ts';
import { UserCertificateAuthorities } from './cert-auth.ts';
import { SshCertificateIssuer } from './cert-issuer.ts';
import { SshListener } from './listener.ts';
import { sshPolicySchema } from './policy-config.ts';

export const sshAdapter: ProtocolAdapter<'ssh', typeof sshListenerSchema, typeof sshTargetSchema> = {
  name: 'ssh',
  title: 'SSH',
  listenerSchema: sshListenerSchema,
  targetSchema: sshTargetSchema,
  policy: { schema: sshPolicySchema },
  init: {
    listener: () => `  ssh:
    address: 127.0.0.1:2222
    hostKey: keys/ssh_host_ed25519_key   # made by vigil init; clients pin its fingerprint
    authorizedKeys: []
#      - { subject: deploy-bot, groups: [deployers], keys: ['ssh-ed25519 AAAA… deploy@ci'] }
    certificateIssuer: {}               # vigil ssh-cert / POST /v1/ssh/certificates: a token + a public key in, a certificate out
`,
    targetExample: `#  - name: web-1
#    protocol: ssh
#    host: 10.0.0.7
#    user: deploy                      # ssh -p 2222 web-1@vigil (or deploy+web-1@vigil)
#    credential: { certificate: {} }  # a per-session certificate by keys/ssh_target_ca_ed25519_key
#                                      # (the target's sshd: TrustedUserCAKeys with its .pub); or { file: secrets/web-1.key }
#    hostKeys: ['ssh-ed25519 AAAA…']   # ssh-keyscan -t ed25519 10.0.0.7, checked out of band
`,
    files(dir) {
      const fp = createHostKey(join(dir, 'keys', 'ssh_host_ed25519_key'));
      const userCa = createHostKey(join(dir, 'keys', 'ssh_user_ca_ed25519_key'), 'vigil-user-ca');
      const ca = createHostKey(join(dir, 'keys', 'ssh_target_ca_ed25519_key'), 'vigil-target-ca');
      return [
        `ssh host key: keys/ssh_host_ed25519_key  ${fp}   clients pin it (known_hosts)`,
        `ssh user CA: keys/ssh_user_ca_ed25519_key  ${userCa}   signs certificates traded for tokens (certificateIssuer)`,
        `ssh target CA: keys/ssh_target_ca_ed25519_key  ${ca}   targets trust keys/ssh_target_ca_ed25519_key.pub (sshd TrustedUserCAKeys)`,
      ];
    },
  },

  async start(ctx) {
    const l = ctx.listener;
    const issuer = l.certificateIssuer
      ? new SshCertificateIssuer({ config: l.certificateIssuer, targets: ctx.targets, policy: ctx.pipeline.opts.policy, log: ctx.log, resolvePath: ctx.resolvePath, logger: ctx.logger })
      : undefined;
    const certificates = new UserCertificateAuthorities(l.userCertificateAuthorities, undefined, issuer ? [issuer.authority()] : []);
    const listener = new SshListener({ listener: l, targets: ctx.targets, pipeline: ctx.pipeline, identity: ctx.identity, certificates, resolvePath: ctx.resolvePath, logger: ctx.logger });
    const address = await listener.listen();
    return {
      address,
      routes: issuer ? [issuer.route()] : [],
      get connections() {
        return listener.connections;
      },
      get admitted() {
        return listener.admitted;
      },
      stopAccepting: () => listener.stopAccepting(),
      close: () => listener.close(),
    };
  },
};
