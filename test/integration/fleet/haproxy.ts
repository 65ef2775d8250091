/** HAProxy (Debian's /usr/sbin/haproxy, TCP mode) in front of a fleet's PostgreSQL listeners, for tests. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../appliance/demo/free-port.ts';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Balancer {
  port: number;
  stop(): Promise<void>;
}

/** Round robin over `backends`; a server is out after one failed check (every 200 ms), a refused connect is redispatched. */
export async function startHaproxy(dir: string, backends: { name: string; port: number }[]): Promise<Balancer> {
  const port = await freePort(0);
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  maxconn 256
defaults
  mode tcp
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  retries 2
  option redispatch
frontend pg
  bind 127.0.0.1:${port}
  default_backend appliances
backend appliances
  balance roundrobin
${backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check inter 200 fall 1 rise 2`).join('\n')}
`,
  );
  const child = spawn(HAPROXY, ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, 500);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`haproxy exited (${code}): ${err}`));
    });
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
