/**
 * A Kubernetes target's API server answers over TLS verified against the configured cluster CA (and
 * tlsServerName). GET /version without credentials: any HTTP answer proves the verified TLS path.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import type { KubernetesTarget } from '../../protocols/kubernetes/config.ts';
import type { TargetProbe } from './probe.ts';

export const kubernetesProbe: TargetProbe = (target, resolvePath) => {
  const t = target as KubernetesTarget;
  const url = new URL(t.server.replace(/\/$/, '') + '/version');
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', ca: readFileSync(resolvePath(t.ca)), servername: t.tlsServerName ?? url.hostname, timeout: t.connectTimeoutMs }, (res) => {
      res.resume();
      resolve({ status: 'pass', detail: `${url.host}: certificate verified against ${t.ca}; GET /version answered HTTP ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${t.connectTimeoutMs} ms`)));
    req.on('error', (e) => resolve({ status: 'fail', detail: `${url.host}: ${e.message}`, fix: 'check the server URL, the cluster CA file (ca:) and the network path' }));
    req.end();
  });
};
