/**
 * The admin HTTPS API, for approvers (the `vigil approvals` command is one client). Every call but
 * /v1/health carries `Authorization: Bearer <JWT>` from an identity provider in vigil.yaml; only members
 * of an approver group get in, and each decision is checked against the request's own rule.
 *
 *   GET  /v1/health, /healthz      liveness: the process answers (no authentication)
 *   GET  /readyz                   readiness: listeners up, journal writable, not draining (no authentication; 503 when not)
 *   GET  /metrics                  Prometheus text; Bearer <listeners.admin.metrics.tokenFile> (not an identity token)
 *   GET  /v1/approvals?status=pending|approved|denied|expired|cancelled
 *   GET  /v1/approvals/{id}
 *   POST /v1/approvals/{id}/approve   {"reason": "…"}            (reason optional)
 *   POST /v1/approvals/{id}/deny      {"reason": "…"}            (reason required)
 *   …and the routes protocols add (routes.ts), e.g. POST /v1/ssh/certificates
 *
 * Errors: {"error": {"code": "E_…", "message": "…"}} with 400, 401, 403, 404, 409 or 500.
 */
import { createServer, type Server } from 'node:https';
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, VigilError } from '../../shared/errors.ts';
import type { ApprovalsApi } from '../approvals/api.ts';
import { ApprovalError, type Approver } from '../approvals/decision-rules.ts';
import { clientMessageFor, type JwtVerifierRegistry, type VerifiedIdentity } from '../identity/index.ts';
import { splitAddress } from '../net/host-port.ts';
import type { AdminListenerConfig } from './config.ts';
import { RouteError, type ApiRoute } from './routes.ts';

const MAX_BODY = 64 * 1024;
const STATUSES = new Set(['pending', 'approved', 'denied', 'expired', 'cancelled']);

export interface AdminDeps {
  config: AdminListenerConfig;
  resolvePath: (p: string) => string;
  identity: JwtVerifierRegistry;
  approvals: ApprovalsApi;
  /** Every group named as approvers anywhere in the policy: membership in one opens the API. */
  approverGroups: ReadonlySet<string>;
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  /** /metrics exposition (served only when listeners.admin.metrics is configured). */
  metrics?: { render(): Promise<{ contentType: string; text: string }> };
  /** /readyz: whether the gateway can serve sessions, and each part's state (no secrets, no identities). */
  readiness?: () => { ready: boolean; checks: Record<string, string> };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AdminServer {
  private server: Server | undefined;
  private readonly routes = new Map<string, ApiRoute>();

  constructor(private readonly deps: AdminDeps) {}

  /** Adds a protocol's endpoints; a path taken twice is a programming error. */
  addRoutes(routes: readonly ApiRoute[]): void {
    for (const r of routes) {
      const key = `${r.method} ${r.path}`;
      if (this.routes.has(key) || r.path.startsWith('/v1/approvals') || r.path === '/v1/health' || !r.path.startsWith('/v1/')) throw new Error(`admin route ${key} is taken`);
      this.routes.set(key, r);
    }
  }

  /** SHA-256 of the metrics bearer token: compared in constant time, never kept in clear beyond start-up. */
  private metricsTokenDigest: Buffer | undefined;

  listen(): Promise<{ host: string; port: number }> {
    const { config, resolvePath } = this.deps;
    if (config.metrics) {
      const token = readFileSync(resolvePath(config.metrics.tokenFile), 'utf8').trim();
      if (token.length < 16) throw new VigilError('E_CONFIG', 'listeners.admin.metrics.tokenFile: the token must be at least 16 characters', { hint: 'e.g. head -c 32 /dev/urandom | base64 > metrics.token' });
      this.metricsTokenDigest = createHash('sha256').update(token).digest();
    }
    this.server = createServer({ cert: readFileSync(resolvePath(config.tls.cert)), key: readFileSync(resolvePath(config.tls.key)), minVersion: 'TLSv1.2' }, (req, res) => {
      this.handle(req, res).catch((e) => this.send(res, 500, { error: { code: 'E_INTERNAL', message: 'internal error' } }, e));
    });
    const [host, port] = splitAddress(config.address);
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        const a = this.server!.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://vigil.invalid');
    try {
      if (req.method === 'GET' && (url.pathname === '/v1/health' || url.pathname === '/healthz')) return this.send(res, 200, { ok: true });
      if (req.method === 'GET' && url.pathname === '/readyz') {
        const r = this.deps.readiness?.() ?? { ready: true, checks: {} };
        return this.send(res, r.ready ? 200 : 503, r);
      }
      if (req.method === 'GET' && url.pathname === '/metrics') return await this.serveMetrics(req, res);
      const route = this.routes.get(`${req.method} ${url.pathname}`);
      if (route) {
        const identity = await this.verify(req);
        const body = req.method === 'POST' ? await readJson(req) : Object.fromEntries(url.searchParams);
        const r = await route.handle({ body, identity, address: req.socket.remoteAddress ?? null });
        return this.send(res, r.status, r.body);
      }
      const who = await this.authenticate(req);
      const m = /^\/v1\/approvals(?:\/(apr_[A-Za-z0-9_-]{1,40}))?(?:\/(approve|deny))?$/.exec(url.pathname);
      if (!m) throw new HttpError(404, 'E_NOT_FOUND', `no such endpoint: ${req.method} ${url.pathname}`);
      const [, id, action] = m;
      if (req.method === 'GET' && !id) {
        const status = url.searchParams.get('status');
        if (status && !STATUSES.has(status)) throw new HttpError(400, 'E_BAD_REQUEST', `status must be one of ${[...STATUSES].join(', ')}`);
        return this.send(res, 200, { approvals: await this.deps.approvals.list((status ?? undefined) as never) });
      }
      if (req.method === 'GET' && id && !action) {
        const rec = await this.deps.approvals.get(id);
        if (!rec) throw new HttpError(404, 'E_APPROVAL_NOT_FOUND', `no approval request ${id}`);
        return this.send(res, 200, { approval: rec });
      }
      if (req.method === 'POST' && id && action) {
        const body = await readJson(req);
        const reason = typeof body['reason'] === 'string' && body['reason'].trim() ? body['reason'].trim().slice(0, 1000) : null;
        const rec = await this.deps.approvals.decide(id, who, action === 'approve' ? 'approve' : 'deny', reason, req.socket.remoteAddress ?? null);
        this.deps.logger.info({ requestId: id, approver: who.subject, decision: action }, 'approval decision');
        return this.send(res, 200, { approval: rec });
      }
      throw new HttpError(405, 'E_METHOD', `${req.method} is not allowed on ${url.pathname}`);
    } catch (e) {
      if (e instanceof HttpError || e instanceof RouteError) return this.send(res, e.status, { error: { code: e.code, message: e.message } });
      if (e instanceof ApprovalError) return this.send(res, e.status, { error: { code: e.code, message: e.message } });
      throw e;
    }
  }

  private async serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.metricsTokenDigest || !this.deps.metrics) throw new HttpError(404, 'E_NOT_FOUND', 'metrics are not enabled (set listeners.admin.metrics.tokenFile)');
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = createHash('sha256').update(token ?? '').digest();
    if (!token || !timingSafeEqual(given, this.metricsTokenDigest)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="vigil-metrics"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'E_UNAUTHENTICATED', message: 'send Authorization: Bearer <the metrics token>' } }));
      return;
    }
    const m = await this.deps.metrics.render();
    res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(m.text) });
    res.end(m.text);
  }

  /** The caller's identity from its bearer token (never logged). */
  private async verify(req: IncomingMessage): Promise<VerifiedIdentity> {
    const h = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(h)?.[1];
    if (!token) throw new HttpError(401, 'E_UNAUTHENTICATED', 'send Authorization: Bearer <your identity token>');
    try {
      return await this.deps.identity.verify(token);
    } catch (e) {
      throw new HttpError(401, 'E_UNAUTHENTICATED', clientMessageFor(e));
    }
  }

  private async authenticate(req: IncomingMessage): Promise<Approver> {
    const id = await this.verify(req);
    if (!id.groups.some((g) => this.deps.approverGroups.has(g))) {
      throw new HttpError(403, 'E_NOT_APPROVER', `${id.subject} is not in any approver group`);
    }
    return { subject: id.subject, issuer: id.issuer, groups: id.groups };
  }

  private send(res: ServerResponse, status: number, body: unknown, err?: unknown): void {
    if (err) this.deps.logger.warn({ err: describeError(err) }, 'admin API error');
    const text = JSON.stringify(body, null, 1);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(400, 'E_BAD_REQUEST', 'request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return resolve({});
      try {
        const v = JSON.parse(text) as unknown;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'E_BAD_REQUEST', 'the body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });
}
