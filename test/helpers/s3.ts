/**
 * A real S3-compatible server for tests: versitygw (posix backend, versioning on, so Object Lock works),
 * built by scripts/ensure-s3.sh and started on 127.0.0.1 in a fresh temporary directory.
 *
 *   const s3 = await startS3();               // builds the binary first if it is missing (≈ 2 min cold)
 *   afterAll(() => s3.stop());
 *   await s3.createLockedBucket('evidence');  // Object Lock enabled at creation (it cannot be added later)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../appliance/demo/free-port.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** A JSON credentials file (mode 0600) in the shape `shipping.credentialsFile` reads. */
  credentialsFile: string;
  client: S3Client;
  createLockedBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export function versitygwBinary(): string {
  const out = execFileSync('sh', [join(ROOT, 'scripts/ensure-s3.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

export async function startS3(): Promise<TestS3> {
  const bin = versitygwBinary();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-s3-'));
  const data = join(dir, 'buckets');
  const versions = join(dir, 'versions');
  mkdirSync(data);
  mkdirSync(versions);
  const port = await freePort(0);
  const accessKeyId = `test${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(20).toString('hex');
  const child: ChildProcess = spawn(bin, ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', '--versioning-dir', versions, data], {
    env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForPort(port, child, () => stderr);
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  const credentialsFile = join(dir, 's3-credentials.json');
  writeFileSync(credentialsFile, JSON.stringify({ accessKeyId, secretAccessKey }), { mode: 0o600 });
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // as appliance/shipping/bucket.ts
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region,
    credentialsFile,
    client,
    async createLockedBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: true }));
    },
    async stop() {
      client.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`versitygw exited (${child.exitCode}): ${stderr()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`versitygw did not listen on 127.0.0.1:${port}: ${stderr()}`);
}
