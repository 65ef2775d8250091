/**
 * Identity test kit: the test identity provider (appliance/identity/test-identity-provider.ts), a small
 * PKI made with the system's openssl (CAs, server and client certificates with SAN URI / CN), and an
 * HTTPS server on 127.0.0.1 that publishes a provider's JWKS live, so rotations show up on refetch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityProviderSchema, type IdentityProviderConfig, type IdentityProviderInput } from '../../appliance/identity/config.ts';
import { TestIdentityProvider } from '../../appliance/identity/test-identity-provider.ts';

export { TestIdentityProvider };
export type { GithubActionsTokenOptions, MintOptions, TestAlgorithm } from '../../appliance/identity/test-identity-provider.ts';

export function tempDir(prefix = 'vigil-id-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A parsed provider config (defaults applied), for tests that build verifiers directly. */
export function providerConfig(input: IdentityProviderInput): IdentityProviderConfig {
  return identityProviderSchema.parse(input);
}

// ---------------------------------------------------------------- PKI (openssl)

export interface CertFiles {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** e.g. '/CN=ci-bot/OU=payments/O=Acme' */
  subject: string;
  /** subjectAltName entries, e.g. ['URI:spiffe://acme.test/ci', 'IP:127.0.0.1']. */
  san?: string[];
  usage: 'client' | 'server';
  days?: number;
  /** An exact end of validity (to the second), instead of `days`: issued with `openssl ca -enddate`. */
  notAfter?: Date;
  serial?: string;
}

/** ASN.1 GeneralizedTime as openssl ca takes it: YYYYMMDDHHMMSSZ. */
const asn1Time = (d: Date) => d.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('these tests need the openssl command (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? String(e)}`);
  }
}

let serialCounter = 0x1000;

/** A throw-away CA (EC P-256, valid two days) that can issue leaf certificates. */
export class TestCa {
  readonly certPath: string;
  readonly keyPath: string;

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    this.certPath = join(dir, `${name}.crt`);
    this.keyPath = join(dir, `${name}.key`);
  }

  static create(dir: string, name = 'ca', subject = `/CN=Vigil Test ${name}/O=Vigil Tests`): TestCa {
    const ca = new TestCa(dir, name);
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.keyPath, '-out', ca.certPath, '-days', '2', '-subj', subject,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      dir,
    );
    return ca;
  }

  get cert(): string {
    return readFileSync(this.certPath, 'utf8');
  }

  issue(name: string, o: IssueOptions): CertFiles {
    const keyPath = join(this.dir, `${name}.key`);
    const csrPath = join(this.dir, `${name}.csr`);
    const certPath = join(this.dir, `${name}.crt`);
    const extPath = join(this.dir, `${name}.ext`);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', o.subject], this.dir);
    const ext = [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${o.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
      ...(o.san && o.san.length > 0 ? [`subjectAltName=${o.san.join(',')}`] : []),
    ];
    writeFileSync(extPath, ext.join('\n') + '\n');
    const serial = o.serial ?? `0x${(serialCounter++).toString(16)}`;
    if (o.notAfter) {
      // `openssl x509 -req` (OpenSSL 3.0) knows only whole days: `openssl ca` takes an exact end date.
      const db = join(this.dir, `${name}.index`);
      writeFileSync(db, '');
      writeFileSync(join(this.dir, `${name}.serial`), `${serial.replace(/^0x/, '').padStart(2, '0')}\n`);
      const cfg = join(this.dir, `${name}.ca.cnf`);
      writeFileSync(cfg, `[ca]\ndefault_ca = d\n[d]\ndatabase = ${db}\nnew_certs_dir = ${this.dir}\nserial = ${join(this.dir, `${name}.serial`)}\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n`);
      const start = new Date(Date.now() - 60_000);
      openssl(['ca', '-batch', '-notext', '-config', cfg, '-in', csrPath, '-out', certPath, '-cert', this.certPath, '-keyfile', this.keyPath, '-startdate', asn1Time(start), '-enddate', asn1Time(o.notAfter), '-extfile', extPath], this.dir);
    } else {
      openssl(['x509', '-req', '-in', csrPath, '-CA', this.certPath, '-CAkey', this.keyPath, '-set_serial', serial, '-days', String(o.days ?? 1), '-out', certPath, '-extfile', extPath], this.dir);
    }
    return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  }
}

// ---------------------------------------------------------------- JWKS over HTTPS

export interface JwksServer {
  /** https://127.0.0.1:PORT/jwks */
  url: string;
  /** The CA that signed the server's certificate (for jwks.ca). */
  caPath: string;
  /** JWKS requests served so far. */
  readonly requests: number;
  /** Answer with this HTTP status instead of the JWKS (undefined: serve normally). */
  failWith: number | undefined;
  /** Accept connections but never answer (for timeouts). */
  hang: boolean;
  close(): Promise<void>;
}

/** Serves `idp.jwks()` as it is at each request, over HTTPS with a certificate from a fresh CA. */
export async function serveJwks(idp: TestIdentityProvider, dir = tempDir('vigil-jwks-')): Promise<JwksServer> {
  const ca = TestCa.create(dir, 'jwks-ca');
  const leaf = ca.issue('jwks-server', { subject: '/CN=127.0.0.1', san: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server' });
  let requests = 0;
  const state = { failWith: undefined as number | undefined, hang: false };
  const server: Server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    if (state.hang) return;
    requests++;
    if (state.failWith !== undefined) {
      res.writeHead(state.failWith).end();
      return;
    }
    if (req.url !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(idp.jwks()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/jwks`,
    caPath: ca.certPath,
    get requests() {
      return requests;
    },
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    get hang() {
      return state.hang;
    },
    set hang(v) {
      state.hang = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (a server was there a moment ago). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `https://127.0.0.1:${port}/jwks`;
}
