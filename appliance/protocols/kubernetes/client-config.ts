/**
 * What a kubectl user needs to reach a target through Vigil (docs/kubernetes-gateway.md): a kubeconfig
 * whose server is Vigil's `/targets/<name>` and whose user is an exec credential plugin (`vigil
 * kube-credential`) that reads the NHI's token from a file each time kubectl needs one (a GitHub Actions
 * or SPIFFE JWT that is rewritten as it rotates), so the kubeconfig itself holds no credential.
 */
import { decodeJwt } from 'jose';

/** The client.authentication.k8s.io ExecCredential kubectl expects on the plugin's stdout. */
export function execCredential(token: string, apiVersion = 'client.authentication.k8s.io/v1'): string {
  let exp: number | undefined;
  try {
    const e = decodeJwt(token).exp;
    exp = typeof e === 'number' ? e : undefined;
  } catch {
    exp = undefined;
  }
  // kubectl asks the plugin again once this passes: the file's newer token is then read.
  const status = { token, ...(exp ? { expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}) };
  return `${JSON.stringify({ apiVersion, kind: 'ExecCredential', status })}\n`;
}

export interface KubeconfigOptions {
  /** Vigil's Kubernetes listener, https://host:port. */
  server: string;
  target: string;
  /** The CA file kubectl verifies Vigil's certificate with. */
  caFile: string;
  /** Where the plugin reads the token. */
  tokenFile: string;
  /** How kubectl runs the plugin (default `vigil`). */
  command?: string;
}

const q = (s: string) => JSON.stringify(s);

export function kubeconfigText(o: KubeconfigOptions): string {
  const server = `${o.server.replace(/\/+$/, '')}/targets/${encodeURIComponent(o.target)}`;
  const name = `vigil-${o.target}`;
  return `apiVersion: v1
kind: Config
clusters:
- name: ${q(name)}
  cluster:
    server: ${q(server)}
    certificate-authority: ${q(o.caFile)}
users:
- name: ${q(name)}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${q(o.command ?? 'vigil')}
      args: [kube-credential, --token-file, ${q(o.tokenFile)}]
      interactiveMode: Never
      provideClusterInfo: false
contexts:
- name: ${q(name)}
  context:
    cluster: ${q(name)}
    user: ${q(name)}
current-context: ${q(name)}
`;
}
