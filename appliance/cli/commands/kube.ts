/**
 * `vigil kubeconfig` writes a kubeconfig for a Kubernetes target through Vigil; `vigil kube-credential` is
 * the exec credential plugin it names, which prints the identity token from a file as an ExecCredential.
 * Neither prints the token anywhere but the plugin's stdout, which kubectl reads (docs/kubernetes-gateway.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { execCredential, kubeconfigText } from '../../protocols/kubernetes/client-config.ts';
import { EXIT, UsageError, defineCommand, parseCommand } from '../command.ts';

const credentialSpec = defineCommand({
  name: 'kube-credential',
  summary: 'kubectl exec credential plugin: print the identity token in FILE as an ExecCredential.',
  options: {
    'token-file': { type: 'string', value: 'FILE', description: 'the file holding the identity token (a GitHub Actions or SPIFFE JWT)', required: true },
  },
  examples: ['vigil kube-credential --token-file /run/secrets/vigil-token   # run by kubectl, from the kubeconfig vigil kubeconfig writes'],
});

export async function kubeCredential(argv: string[]): Promise<number> {
  const a = parseCommand(credentialSpec, argv);
  if (!a) return EXIT.ok;
  const file = a.values['token-file']!;
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new UsageError(`cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, credentialSpec.name);
  }
  if (!token) throw new UsageError(`the token file ${file} is empty`, credentialSpec.name);
  // kubectl says which ExecCredential version it wants in KUBERNETES_EXEC_INFO.
  let apiVersion: string | undefined;
  try {
    apiVersion = (JSON.parse(process.env['KUBERNETES_EXEC_INFO'] ?? '{}') as { apiVersion?: string }).apiVersion;
  } catch {
    apiVersion = undefined;
  }
  process.stdout.write(execCredential(token, apiVersion));
  return Promise.resolve(EXIT.ok);
}

const kubeconfigSpec = defineCommand({
  name: 'kubeconfig',
  summary: 'Write a kubeconfig that reaches a Kubernetes target through Vigil, with the token read from a file.',
  options: {
    target: { type: 'string', value: 'NAME', description: 'the target (targets[].name, protocol: kubernetes)', required: true },
    server: { type: 'string', value: 'URL', description: "Vigil's Kubernetes listener, e.g. https://vigil.example:6443", required: true },
    ca: { type: 'string', value: 'FILE', description: "the CA that signed Vigil's certificate", required: true },
    'token-file': { type: 'string', value: 'FILE', description: 'where the credential plugin reads the identity token', required: true },
    command: { type: 'string', value: 'PATH', description: 'how kubectl runs vigil (default: vigil, from PATH)' },
    out: { type: 'string', value: 'FILE', description: 'write it here (mode 0600) instead of stdout' },
  },
  examples: ['vigil kubeconfig --target prod-cluster --server https://vigil.example:6443 --ca vigil-ca.pem --token-file "$RUNNER_TEMP/token" --out kubeconfig'],
});

export async function kubeconfig(argv: string[]): Promise<number> {
  const a = parseCommand(kubeconfigSpec, argv);
  if (!a) return EXIT.ok;
  const v = a.values;
  if (!/^https:\/\//.test(v.server!)) throw new UsageError('--server must be an https:// URL (Vigil serves Kubernetes over TLS only)', kubeconfigSpec.name);
  const text = kubeconfigText({ server: v.server!, target: v.target!, caFile: v.ca!, tokenFile: v['token-file']!, ...(v.command ? { command: v.command } : {}) });
  if (v.out) writeFileSync(v.out, text, { mode: 0o600 });
  else process.stdout.write(text);
  return Promise.resolve(EXIT.ok);
}
