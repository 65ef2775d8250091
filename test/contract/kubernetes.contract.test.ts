/**
 * The pipeline contract (pipeline-contract.ts) for the Kubernetes adapter: a real gateway in front of the
 * real kube-apiserver (test/helpers/kube-gateway.ts), a keep-alive HTTPS connection as the bot (one
 * connection = one session, several requests on it), the API server asked directly (as the admin) whether
 * a ConfigMap a request creates exists.
 */
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateFingerprintKey } from '../../appliance/keys/fingerprint-key.ts';
import { startKubeGatewayFixture } from '../helpers/kube-gateway.ts';
import { pipelineContract, type ClientOutcome, type ContractClient } from './pipeline-contract.ts';

const POLICIES = `
policies:
  - name: contract
    match: { subjects: ['repo:acme/*'] }
    targets: [dev]
    rules:
      - name: held-namespace-needs-approval
        when: { protocols: [kubernetes], objects: ['held/configmaps/*'] }
        action: require-approval
        approvers: { groups: [ops] }
    classes: { read: allow, write: allow, default: block }
`;

pipelineContract({
  protocol: 'kubernetes',
  async start() {
    const f = await startKubeGatewayFixture({ policies: POLICIES, extraConfig: 'approvals:\n  expirySeconds: 120\n' });
    for (const ns of ['contract', 'held']) {
      f.kube.kubectlOk(['create', 'namespace', ns]);
      f.kube.kubectlOk(['-n', ns, 'create', 'role', 'cm', '--verb=get,list,create', '--resource=configmaps']);
      f.kube.kubectlOk(['-n', ns, 'create', 'rolebinding', 'cm', '--role=cm', '--group=repo:acme/payments']);
    }
    const ca = readFileSync(f.vigilCaFile);
    return {
      appliance: f.gateway.appliance,
      recorder: f.gateway.appliance.recorder,
      approvals: f.gateway.localApprovals,
      approver: { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] },
      commandKey: loadOrCreateFingerprintKey(join(f.dir, 'appliance', 'keys')),
      trust: f.trust,
      auditor: f.auditor,
      async connect(): Promise<ContractClient> {
        // One socket: every request of this client is one session's.
        const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
        const send = (method: string, path: string, body: string) =>
          new Promise<ClientOutcome>((resolve) => {
            const req = request({ host: '127.0.0.1', port: f.port, method, path: `/targets/dev${path}`, agent, headers: { authorization: `Bearer ${f.defaultToken}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
              let text = '';
              res.on('data', (d: Buffer) => (text += d.toString()));
              res.on('end', () => resolve({ ok: (res.statusCode ?? 0) < 300, message: text }));
              res.on('error', () => resolve({ ok: false, message: 'connection lost' }));
              res.on('aborted', () => resolve({ ok: false, message: 'connection lost' }));
            });
            req.on('error', (e) => resolve({ ok: false, message: e.message }));
            req.end(body);
          });
        // The session opens with the first request that carries the token.
        const hello = await send('GET', '/version', '');
        if (!hello.ok) throw new Error(`GET /version through Vigil: ${hello.message}`);
        return {
          send(kind, marker) {
            // The marker in the query too (as the field manager), so the recorded command text names it.
            const path = `/api/v1/namespaces/${kind === 'allowed' ? 'contract' : 'held'}/configmaps?fieldManager=${marker}`;
            const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: marker }, data: { marker } });
            return { done: send('POST', path, body), exactBytes: Buffer.concat([Buffer.from(`POST ${path}\n`), Buffer.from(body)]) };
          },
          drop: () => agent.destroy(),
          end: async () => {
            agent.destroy();
            await new Promise((r) => setTimeout(r, 100));
          },
        };
      },
      async executed(marker) {
        for (const ns of ['contract', 'held']) {
          const r = await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/${marker}`);
          if (r.status === 200) return true;
        }
        return false;
      },
      stop: () => f.stop(),
    };
  },
});
