/**
 * The Kubernetes adapter (registry.ts lists it): unmodified kubectl and client-go programs reach a real
 * API server through Vigil. This slice: HTTPS on the appliance's certificate, a bearer OIDC token or a
 * client certificate as the identity, the target chosen by path prefix (/targets/<name>), every request
 * decided by policy on the API server's own request facts, recorded before it is forwarded as Vigil
 * impersonating the caller, and every response masked (card numbers, Secret values) and recorded.
 * exec, attach, cp and port-forward are relayed as streams (upgrade.ts), over WebSocket and SPDY.
 * docs/kubernetes-gateway.md says what is not there yet (the proxy verb and subresources, among others).
 */
import type { ProtocolAdapter } from '../adapter.ts';
import { kubernetesListenerSchema, kubernetesTargetSchema } from './config.ts';
import { KubeListener } from './listener.ts';
import { kubernetesPolicySchema } from './policy-config.ts';
import { KubeUpstream } from './upstream.ts';

export const kubernetesAdapter: ProtocolAdapter<'kubernetes', typeof kubernetesListenerSchema, typeof kubernetesTargetSchema> = {
  name: 'kubernetes',
  title: 'Kubernetes',
  listenerSchema: kubernetesListenerSchema,
  targetSchema: kubernetesTargetSchema,
  policy: { schema: kubernetesPolicySchema },
  init: {
    // Commented out: it needs a target (an API server and Vigil's credential there) to be useful.
    listener: ({ tls }) =>
      tls
        ? `#  kubernetes:             # kubectl: server https://<vigil>:6443/targets/<name> (docs/kubernetes-gateway.md)
#    address: 127.0.0.1:6443
#    tls: { cert: tls/server.crt, key: tls/server.key }
`
        : '',
    targetExample: `#  - name: prod-cluster
#    protocol: kubernetes
#    server: https://10.0.0.20:6443         # the API server
#    ca: tls/prod-cluster-ca.crt             # the cluster CA
#    credential: { clientCertificate: { cert: secrets/prod-vigil.crt, key: secrets/prod-vigil.key } }
#                                            # or { tokenFile: secrets/prod-vigil.token }; it needs only 'impersonate' on users and groups
`,
  },
  check(listener, shared, issue) {
    if (listener?.clientCertificates && !shared.mtls) {
      issue(['listeners', 'kubernetes', 'clientCertificates'], 'client certificates need an mtls: section (which CA, how to read the identity)');
    }
  },

  async start(ctx) {
    const upstreams = new Map<string, KubeUpstream>();
    for (const [name, t] of ctx.targets) upstreams.set(name, new KubeUpstream(t, ctx.resolvePath));
    const listener = new KubeListener({
      listener: ctx.listener,
      upstreams,
      pipeline: ctx.pipeline,
      identity: ctx.identity,
      mtls: ctx.shared.mtls,
      fingerprintKey: ctx.fingerprintKey,
      resolvePath: ctx.resolvePath,
      logger: ctx.logger,
    });
    const address = await listener.listen();
    return {
      address,
      get connections() {
        return listener.connectionCount;
      },
      get admitted() {
        return listener.admitted;
      },
      stopAccepting: () => listener.stopAccepting(),
      close: async () => {
        await listener.close();
        for (const u of upstreams.values()) u.close();
      },
    };
  },
};
