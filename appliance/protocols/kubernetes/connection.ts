/**
 * One client connection to the Kubernetes listener, which is one recorded session: the first request that
 * carries a credential proves the identity (a bearer OIDC token through the identity layer, or a TLS client
 * certificate), selects the target (`/targets/<name>/…`, docs/kubernetes-gateway.md) and is granted it by
 * policy; every request after that must carry the same identity (another token is verified in turn; the
 * session ends when the credential it was proven with expires, and at the policy's idle and duration
 * limits) and name the same target. Failures are 401s with a Kubernetes Status body; the token is never
 * recorded, logged or echoed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { describeError } from '../../../shared/errors.ts';
import { clientMessageFor, identityFromCertificate, isIdentityError, type JwtVerifierRegistry, type MtlsConfig, type VerifiedIdentity } from '../../identity/index.ts';
import type { AdmissionTicket } from '../../net/admission.ts';
import type { PipelineSession, SessionPipeline } from '../../pipeline/session.ts';
import { startSessionLimits, type SessionLimits } from '../../pipeline/session-limits.ts';
import type { KubernetesListenerConfig } from './config.ts';
import { runExchange, type ExchangeContext } from './exchange.ts';
import { kubernetesPolicyOf } from './policy-config.ts';
import { sendStatus } from './status.ts';
import { runUpgrade } from './upgrade.ts';
import type { KubeUpstream } from './upstream.ts';

export interface KubeConnectionDeps {
  listener: KubernetesListenerConfig;
  upstreams: ReadonlyMap<string, KubeUpstream>;
  pipeline: SessionPipeline;
  identity: JwtVerifierRegistry;
  mtls: MtlsConfig | undefined;
  fingerprintKey: Uint8Array;
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

type Proof = { ok: true; identity: VerifiedIdentity } | { ok: false; method: string; code: string; reason: string; clientMessage: string } | { ok: false; method: 'none' };

type Granted = { ok: true; upstream: KubeUpstream; impersonation: { user: string; groups: string[] } } | { ok: false; rule: string; reason: string };

export const TARGET_PREFIX = '/targets/';

export class KubeConnection {
  private session: PipelineSession | undefined;
  private identity: VerifiedIdentity | undefined;
  private target: string | undefined;
  private granted: Granted | undefined;
  private closed = false;
  private readonly address: string;
  private limits: SessionLimits | undefined;
  /** Requests being answered (a watch or a log stream is one for as long as it runs): the session is not idle. */
  private inFlight = 0;
  private lastActivity = Date.now();
  private admitting: Promise<void> = Promise.resolve();
  /** The bearer token the session's identity was proven with (held in memory only, never recorded). */
  private provenToken: string | undefined;
  /** Streams running on this connection (upgrade.ts), ended before the session closes. */
  private readonly streams = new Set<(reason: string) => void>();

  constructor(
    private readonly socket: TLSSocket,
    private readonly deps: KubeConnectionDeps,
    private readonly ticket: AdmissionTicket,
  ) {
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.once('close', () => void this.close('client disconnected'));
    ticket.onEnd((end) => {
      socket.destroy();
      void this.close(end.message);
    });
  }

  private open(): PipelineSession {
    this.session ??= this.deps.pipeline.open('kubernetes', { address: this.address, tls: this.socket.getProtocol() ?? 'TLS' });
    return this.session;
  }

  /** `upgrade`: the request asked to upgrade (exec, attach, port-forward); the socket is the stream's once accepted. */
  async handle(req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Duplex; head: Buffer }): Promise<void> {
    this.inFlight++;
    this.lastActivity = Date.now();
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      this.inFlight--;
      this.lastActivity = Date.now();
    };
    res.once('close', done);
    upgrade?.socket.once('close', done);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    const m = /^\/targets\/([^/]+)(\/.*)?$/.exec(rawPath);
    if (!m) {
      req.resume();
      return sendStatus(res, 404, 'Vigil serves each Kubernetes target under /targets/<name>: set the kubeconfig server to https://<vigil>/targets/<name>');
    }
    let targetName: string;
    try {
      targetName = decodeURIComponent(m[1]!);
    } catch {
      req.resume();
      return sendStatus(res, 400, 'the target name in the path is not valid percent-encoding');
    }
    const apiPath = m[2] ?? '/';

    // One request at a time establishes the session: pipelined requests must not both open it.
    const turn = this.admitting.then(() => this.admit(req, res, targetName));
    this.admitting = turn.then(() => undefined, () => undefined);
    if (!(await turn)) return;
    const session = this.session!;
    const g = this.granted!;
    if (!g.ok) {
      req.resume();
      return sendStatus(res, 403, `forbidden by Vigil (rule ${g.rule}): ${g.reason}`);
    }
    const ctx: ExchangeContext = {
      session,
      upstream: g.upstream,
      listener: this.deps.listener,
      impersonation: g.impersonation,
      logger: this.deps.logger,
      abort: (reason) => {
        this.socket.destroy();
        void this.close(reason);
      },
      track: (end) => {
        this.streams.add(end);
        return () => this.streams.delete(end);
      },
    };
    if (upgrade) await runUpgrade(ctx, req, res, upgrade.socket, upgrade.head, apiPath, search);
    else await runExchange(ctx, req, res, apiPath, search);
  }

  /** Proves the identity and, for the first request, opens the session and grants the target; false: answered already. */
  private async admit(req: IncomingMessage, res: ServerResponse, targetName: string): Promise<boolean> {
    const proof = await this.prove(req);
    if (!proof.ok) {
      req.resume();
      if (proof.method !== 'none') {
        const p = proof as Extract<Proof, { code: string }>;
        this.open().identityRejected(p.method, p.reason, p.code);
        this.deps.logger.info({ client: this.address, sessionId: this.session?.id, code: p.code, reason: p.reason }, 'Kubernetes credential refused');
        sendStatus(res, 401, `Unauthorized: ${p.clientMessage}`);
        return false;
      }
      sendStatus(res, 401, 'Unauthorized: Vigil needs a bearer identity token (or a client certificate)');
      return false;
    }
    const id = proof.identity;
    if (this.identity && (this.identity.subject !== id.subject || this.identity.issuer !== id.issuer || this.identity.method !== id.method)) {
      req.resume();
      this.session?.identityRejected(id.method, `a request on this connection presented another identity (${this.session?.masks.evidence(id.subject) ?? ''}); the connection keeps its first one`, 'E_KUBE_IDENTITY_CHANGED');
      sendStatus(res, 401, 'Unauthorized: this connection is authenticated as another identity; open a new connection');
      return false;
    }
    if (this.target !== undefined && this.target !== targetName) {
      req.resume();
      sendStatus(res, 400, `this connection is for target "${this.target}"; open a new connection for "${targetName}"`);
      return false;
    }
    if (!this.identity) {
      const session = this.open();
      this.identity = id;
      session.identityVerified(id);
      if (!this.ticket.authenticate()) {
        session.record({ type: 'error', kind: 'startup', code: 'capacity', message: `too many sessions on this Vigil listener (limit ${this.deps.listener.maxConnections}, listeners.kubernetes.maxConnections)` });
        req.resume();
        sendStatus(res, 429, 'too many sessions on this Vigil listener; try again later', { connection: 'close' });
        this.socket.end();
        return false;
      }
      this.target = targetName;
      this.granted = this.grant(session, targetName);
      if (this.granted.ok) this.enforceLimits(session, id);
    }
    return true;
  }

  /** A bearer token first; else a client certificate when the listener accepts them. */
  private async prove(req: IncomingMessage): Promise<Proof> {
    const auth = req.headers['authorization'];
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m) return { ok: false, method: 'oidc-jwt', code: 'E_ID_MALFORMED', reason: 'the Authorization header is not a bearer token', clientMessage: 'Vigil accepts only a bearer identity token' };
      // The very token this connection's session was proven with: verified already, and the session ends
      // at its expiry (enforceLimits), so it is not verified again on every request.
      if (this.identity && this.provenToken !== undefined && m[1] === this.provenToken) return { ok: true, identity: this.identity };
      try {
        const identity = await this.deps.identity.verify(m[1]!);
        if (!this.identity) this.provenToken = m[1];
        return { ok: true, identity };
      } catch (e) {
        return { ok: false, method: 'oidc-jwt', code: isIdentityError(e) ? e.code : 'E_ID_INTERNAL', reason: describeError(e), clientMessage: clientMessageFor(e) };
      }
    }
    if (this.deps.listener.clientCertificates && this.deps.mtls) {
      const cert = this.socket.getPeerX509Certificate();
      if (cert) {
        try {
          const identity = identityFromCertificate(cert, this.socket.authorized, this.deps.mtls, { fingerprintKey: this.deps.fingerprintKey, authorizationError: this.socket.authorizationError ?? null });
          return { ok: true, identity };
        } catch (e) {
          return { ok: false, method: 'mtls', code: isIdentityError(e) ? e.code : 'E_ID_INTERNAL', reason: describeError(e), clientMessage: clientMessageFor(e) };
        }
      }
    }
    return { ok: false, method: 'none' };
  }

  private grant(session: PipelineSession, targetName: string): Granted {
    const upstream = this.deps.upstreams.get(targetName);
    const id = this.identity!;
    const g = session.grantTarget(targetName, upstream ? { address: upstream.target.server, credentialRef: upstream.credentialRef } : {});
    if (!g.ok || !upstream) return { ok: false, rule: 'access', reason: `no policy grants ${id.subject} access to target "${targetName}"` };
    const kp = kubernetesPolicyOf(session.policy?.config);
    const user = kp.impersonate.user ?? id.subject;
    if (kp.impersonate.user === undefined && user.startsWith('system:')) {
      const reason = `the identity's subject "${user}" is a Kubernetes system name; Vigil impersonates it only when policy names it (policies[].kubernetes.impersonate.user)`;
      session.record({ type: 'decision', decision: 'block', rule: 'vigil/impersonation', reason, scope: 'session' });
      return { ok: false, rule: 'vigil/impersonation', reason };
    }
    const fromIdentity = kp.impersonate.identityGroups ? id.groups.filter((grp) => !grp.startsWith('system:')) : [];
    const groups = [...new Set([...fromIdentity, ...kp.impersonate.groups])];
    session.record({ type: 'notice', kind: 'impersonation', user: session.masks.evidence(user), groups: groups.map((grp) => session.masks.evidence(grp)) });
    return { ok: true, upstream, impersonation: { user, groups } };
  }

  /**
   * The credential's expiry (a token's exp or a certificate's notAfter, plus the tolerance it was accepted
   * with) and the policy's idle and maximum-duration limits (docs/policy.md, "Session limits"), as SSH and
   * PostgreSQL enforce them: a watch or log stream still running when the token expires is ended with it.
   * Idle counts while no request is being answered.
   */
  private enforceLimits(session: PipelineSession, id: VerifiedIdentity): void {
    const policy = session.policy?.config;
    const tolerance = id.method === 'mtls' ? 0 : (this.deps.identity.clockToleranceSeconds(id.provider) ?? 0);
    this.limits = startSessionLimits({
      expiresAt: id.expiresAt,
      toleranceSeconds: tolerance,
      credential: id.method === 'mtls' ? 'client certificate' : 'identity token',
      limits: policy ? { idleSeconds: policy.limits.idleSeconds, maxSessionSeconds: policy.limits.maxSessionSeconds } : {},
      busy: () => this.inFlight > 0,
      lastActivity: () => this.lastActivity,
      terminate: (kind, message, reason) => {
        this.deps.logger.info({ sessionId: session.id, kind, reason }, 'session ended by the gateway');
        session.record({ type: 'error', kind: 'session', code: kind, message });
        this.socket.destroy();
        void this.close(`ended by the gateway: ${reason}`);
      },
    });
    session.record({ type: 'notice', kind: 'session-limits', ...this.limits.summary });
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.limits?.cancel();
    for (const end of [...this.streams]) end(reason);
    await this.session?.close(reason).catch((e) => this.deps.logger.warn({ sessionId: this.session?.id, err: describeError(e) }, 'could not seal the session archive'));
  }
}
