/**
 * One SSH client connection: public-key authentication (the identity), target selection from the user
 * name and the policy grant, Vigil's own login to the target (host key pinned), then the session's
 * channels. In this slice only `exec` on a `session` channel runs; every other request is refused with a
 * message and recorded (docs/ssh-gateway.md). A session archive starts at the first public-key attempt,
 * so a scanner that never tries a key leaves none.
 */
import type { AuthContext, AuthenticationType, Client, Connection } from 'ssh2';
import { describeError, VigilError } from '../../../shared/errors.ts';
import type { JwtVerifierRegistry } from '../../identity/index.ts';
import type { AdmissionTicket } from '../../net/admission.ts';
import type { PipelineSession, SessionIdentity, SessionPipeline } from '../../pipeline/session.ts';
import { startSessionLimits, type SessionLimits } from '../../pipeline/session-limits.ts';
import { ALL_PERMITS, isCertificateAlgorithm, SSH_CERT_METHOD, type UserCertificateAuthorities } from './cert-auth.ts';
import type { CertificatePermits } from './certificate-policy.ts';
import type { AuthorizedKeys } from './client-auth.ts';
import type { SshListenerConfig, SshTarget } from './config.ts';
import { ChannelLimits } from './channel-limits.ts';
import { ChannelBook } from './exec-channel.ts';
import { runDirectTcpip } from './forwarding.ts';
import { handleSessionChannel, NOT_YET, type SessionChannelContext } from './session-channel.ts';
import { connectUpstream, readTargetKey, UpstreamError, type TargetLogin } from './upstream.ts';
import type { MintedTargetLogin, TargetCertificateMinter } from './target-certificate.ts';
import { readToken, tellRefusal, verifyToken } from './token-auth.ts';
import { parseUserName } from './user-name.ts';

export interface SshConnectionDeps {
  listener: SshListenerConfig;
  targets: ReadonlyMap<string, SshTarget>;
  pipeline: SessionPipeline;
  keys: AuthorizedKeys;
  targetCertificates: TargetCertificateMinter;
  certificates: UserCertificateAuthorities;
  /** Verifies OIDC tokens sent as the password (listeners.ssh.acceptIdentityTokens). */
  identity: JwtVerifierRegistry;
  resolvePath: (p: string) => string;
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

type Upstream = { ok: true; client: Client } | { ok: false; rule: string; reason: string };

export class SshConnection {
  private session: PipelineSession | undefined;
  private verified = false;
  private upstream: Promise<Upstream> | undefined;
  private target: Client | undefined;
  private readonly book = new ChannelBook();
  private limits: SessionLimits | undefined;
  private channels: ChannelLimits | undefined;
  /** Why the gateway ended the connection, when it did (else the client disconnected). */
  private endReason: string | undefined;
  private gone = false;
  /** The client's address without its port (what a certificate's source-address is checked against). */
  private readonly clientIp: string;
  /** What the proven credential allows and when it stops being valid (set once authenticated). */
  private credential: { what: string; expiresAt: string | undefined; toleranceSeconds: number; permits: CertificatePermits; forceCommand: string | undefined } | undefined;
  /** Auth methods offered to the client. */
  private readonly methods: AuthenticationType[];

  constructor(
    private readonly conn: Connection,
    private readonly address: string,
    private readonly deps: SshConnectionDeps,
    private readonly ticket: AdmissionTicket,
  ) {
    this.clientIp = address.slice(0, Math.max(0, address.lastIndexOf(':')));
    this.methods = ['publickey', ...(deps.listener.acceptIdentityTokens ? (['keyboard-interactive', 'password'] as const) : [])];
    conn.on('error', (e: Error & { level?: string }) => {
      // ssh2's keepalive: no packet from the client through keepaliveCountMax pings (listener.ts).
      if (e.level !== 'client-timeout') return;
      const l = deps.listener;
      const reason = `the client stopped answering keepalives (${l.keepaliveCountMax} pings ${l.keepaliveIntervalSeconds} s apart went unanswered)`;
      this.deps.logger.info({ client: this.address, sessionId: this.session?.id, reason }, 'SSH client dropped');
      this.session?.record({ type: 'error', kind: 'session', code: 'keepalive-timeout', message: reason });
      this.endReason ??= `ended by the gateway: ${reason}`;
    });
    conn.on('authentication', (ctx) => void this.authenticate(ctx).catch((e) => this.failed(e)));
    conn.on('ready', () => this.ready());
    conn.on('close', () => void this.closed(this.endReason ?? 'client disconnected'));
    ticket.onEnd((end) => {
      conn.end();
      void this.session?.close(end.message);
    });
  }

  private open(): PipelineSession {
    this.session ??= this.deps.pipeline.open('ssh', { address: this.address });
    return this.session;
  }

  /**
   * One userauth request: a listed plain key, an OpenSSH user certificate (cert-auth.ts) or an OIDC token
   * as the password (token-auth.ts). Every refusal is recorded with its reason; none says more to the client
   * than OpenSSH would (a keyboard-interactive client is told why its token failed).
   */
  private async authenticate(ctx: AuthContext): Promise<void> {
    if (this.verified) return ctx.reject([]);
    if (ctx.method === 'publickey') return this.publicKey(ctx);
    if ((ctx.method === 'password' || ctx.method === 'keyboard-interactive') && this.deps.listener.acceptIdentityTokens) return this.token(ctx);
    return ctx.reject(this.methods);
  }

  private publicKey(ctx: AuthContext & { method: 'publickey' }): void {
    this.open();
    if (isCertificateAlgorithm(ctx.key.algo)) {
      const r = this.deps.certificates.check(ctx, this.loginFor(ctx.username), this.clientIp);
      if (r.kind === 'query-ok') return ctx.accept();
      if (r.kind === 'refused') return this.refuse(ctx, SSH_CERT_METHOD, r.code, r.reason);
      const forceCommand = r.cert.forceCommand;
      return this.accepted(ctx, r.identity, { what: 'SSH certificate', expiresAt: r.identity.expiresAt, toleranceSeconds: r.toleranceSeconds, permits: r.cert.permits, forceCommand });
    }
    const r = this.deps.keys.check(ctx);
    if (r.kind === 'query-ok') return ctx.accept();
    if (r.kind === 'unlisted') return this.refuse(ctx, 'ssh-key', 'E_SSH_KEY_UNLISTED', `public key ${r.fingerprint} is not listed for any identity`);
    if (r.kind === 'bad-signature') return this.refuse(ctx, 'ssh-key', 'E_SSH_BAD_SIGNATURE', `the signature made with key ${r.fingerprint} does not verify`);
    this.accepted(ctx, r.identity, { what: 'public key', expiresAt: undefined, toleranceSeconds: 0, permits: ALL_PERMITS, forceCommand: undefined });
  }

  private async token(ctx: AuthContext & { method: 'password' | 'keyboard-interactive' }): Promise<void> {
    this.open();
    const raw = await readToken(ctx);
    if (this.gone || this.verified) return ctx.reject([]);
    if (raw === undefined) return ctx.reject(this.methods);
    const r = await verifyToken(this.deps.identity, raw);
    if (this.gone || this.verified) return ctx.reject([]);
    if (r.kind === 'refused') {
      this.session!.identityRejected('oidc-jwt', r.reason, r.code);
      this.deps.logger.info({ client: this.address, sessionId: this.session?.id, code: r.code, reason: r.reason }, 'SSH identity token refused');
      return tellRefusal(ctx, r.clientMessage, () => ctx.reject(this.methods));
    }
    const id = r.identity;
    this.accepted(ctx, id, { what: 'identity token', expiresAt: id.expiresAt, toleranceSeconds: this.deps.identity.clockToleranceSeconds(id.provider) ?? 0, permits: ALL_PERMITS, forceCommand: undefined });
  }

  /** The target login Vigil will use for this user name: sshd checks a certificate's principals against it. */
  private loginFor(userName: string): string | undefined {
    const sel = parseUserName(userName);
    return sel.login ?? this.deps.targets.get(sel.target)?.user;
  }

  private refuse(ctx: AuthContext, method: string, code: string, reason: string): void {
    this.session!.identityRejected(method, reason, code);
    this.deps.logger.info({ client: this.address, sessionId: this.session?.id, code, reason }, 'SSH authentication refused');
    ctx.reject(this.methods);
  }

  private accepted(ctx: AuthContext, identity: SessionIdentity, credential: NonNullable<SshConnection['credential']>): void {
    const session = this.open();
    this.verified = true;
    this.credential = credential;
    session.identityVerified(identity);
    if (!this.ticket.authenticate()) {
      session.record({ type: 'error', kind: 'startup', code: 'capacity', message: `too many sessions on this Vigil listener (limit ${this.deps.listener.maxConnections}, listeners.ssh.maxConnections)` });
      ctx.reject([]);
      this.conn.end();
      return;
    }
    if (credential.forceCommand !== undefined) session.record({ type: 'notice', kind: 'force-command', command: session.masks.evidence(credential.forceCommand), source: credential.what });
    this.upstream = this.selectTarget(session, ctx.username);
    ctx.accept();
  }

  /** Grants the target the user name selects and logs in to it; a refusal is what every exec is then told. */
  private async selectTarget(session: PipelineSession, userName: string): Promise<Upstream> {
    const sel = parseUserName(userName);
    const t = this.deps.targets.get(sel.target);
    const login = sel.login ?? t?.user;
    const credentialRef = t ? credentialRefOf(t) : undefined;
    const g = session.grantTarget(sel.target, t ? { address: `${t.host}:${t.port}`, ...(login ? { user: login } : {}), ...(credentialRef ? { credentialRef } : {}) } : {});
    const subject = session.identity!.subject;
    if (!g.ok || !t) return { ok: false, rule: 'access', reason: `no policy grants ${subject} access to target "${sel.target}" (connect as login+target@vigil or target@vigil)` };
    if (login !== t.user && !t.logins.includes(login!)) {
      const reason = `target "${t.name}" does not allow logging in as "${login}" (its user or logins)`;
      session.record({ type: 'decision', decision: 'block', rule: 'vigil/login', reason, scope: 'session' });
      return { ok: false, rule: 'vigil/login', reason };
    }
    try {
      const c = t.credential;
      let how: TargetLogin = { kind: 'key', privateKey: '' };
      let certificate: MintedTargetLogin['evidence'] | undefined;
      if ('certificate' in c) {
        const minted = this.deps.targetCertificates.mint({ target: t.name, ...c.certificate, login: login!, sessionId: session.id, subject });
        how = minted.login;
        certificate = minted.evidence;
      } else how = { kind: 'key', privateKey: readTargetKey(t, this.deps.resolvePath) };
      const client = await connectUpstream(t, login!, how);
      client.on('error', () => undefined);
      if (this.gone) {
        client.end();
        return { ok: false, rule: 'vigil/target', reason: 'the client went away' };
      }
      client.on('close', () => this.conn.end());
      this.target = client;
      session.record({ type: 'notice', kind: 'target-connected', method: certificate ? 'certificate' : 'publickey', user: login, ...(certificate ? { certificate } : {}) });
      return { ok: true, client };
    } catch (e) {
      const code = e instanceof VigilError ? e.code : 'E_SSH_TARGET_UNAVAILABLE';
      const message = describeError(e);
      session.record({ type: 'error', kind: 'startup', code, message, ...(e instanceof UpstreamError && e.presented ? { presentedHostKey: e.presented } : {}) });
      this.deps.logger.info({ client: this.address, sessionId: session.id, code, reason: message }, 'SSH target login refused');
      return { ok: false, rule: code === 'E_SSH_HOST_KEY_MISMATCH' ? 'vigil/host-key' : 'vigil/target', reason: code === 'E_SSH_HOST_KEY_MISMATCH' ? `target "${t.name}" presented a host key that is not pinned; Vigil refused to log in (recorded)` : `could not log in to target "${t.name}" (recorded)` };
    }
  }

  private ready(): void {
    const session = this.session!;
    const upstream = this.upstream!;
    this.enforceLimits(session);
    const refused = (request: string, message = `${request} ${NOT_YET}`) => session.record({ type: 'notice', kind: 'request-refused', request, message });
    const ctx: SessionChannelContext = {
      session,
      upstream: () => upstream,
      gone: () => this.gone,
      abort: (reason) => this.end(reason),
      logger: this.deps.logger,
      book: this.book,
      refused,
      failed: (e) => this.failed(e),
      permits: this.credential!.permits,
      forceCommand: this.credential!.forceCommand,
    };
    const l = this.deps.listener;
    const setting = { session: 'maxSessionChannels', forward: 'maxForwardChannels' } as const;
    this.channels = new ChannelLimits({ session: l.maxSessionChannels, forward: l.maxForwardChannels }, (kind, limit) =>
      session.record({ type: 'notice', kind: 'channel-limit', channelKind: kind, limit, message: `more than ${limit} ${kind} channels open at once on one connection (listeners.ssh.${setting[kind]}); further ones are refused` }),
    );
    const channels = this.channels;
    this.conn.on('session', (accept, reject) => {
      const release = channels.admit('session');
      if (!release) return reject();
      const s = accept();
      s.once('close', release);
      handleSessionChannel(ctx, s);
    });
    this.conn.on('tcpip', (accept, reject, info) => {
      if (!ctx.permits.portForwarding) {
        refused(`port forwarding to ${info.destIP}:${info.destPort}`, 'port forwarding is not permitted by the client certificate');
        return reject();
      }
      const release = channels.admit('forward');
      if (!release) return reject();
      const opened = () => {
        const ch = accept();
        ch.once('close', release);
        return ch;
      };
      void runDirectTcpip(ctx, opened, () => (release(), reject()), info).catch((e) => this.failed(e));
    });
    this.conn.on('request', (_a, reject, name) => {
      refused(`the global request ${name} (remote forwarding)`);
      reject?.();
    });
  }

  /**
   * The credential's expiry (a certificate's valid-before, a token's exp, plus the tolerance it was accepted
   * with) and the policy's idle and maximum-duration limits (docs/policy.md, "Session limits"): idle counts
   * while no channel runs a command. A listed plain key does not expire.
   */
  private enforceLimits(session: PipelineSession): void {
    const policy = session.policy?.config;
    const c = this.credential!;
    if (!policy && !c.expiresAt) return;
    this.limits = startSessionLimits({
      expiresAt: c.expiresAt,
      toleranceSeconds: c.toleranceSeconds,
      credential: c.what,
      limits: policy ? { idleSeconds: policy.limits.idleSeconds, maxSessionSeconds: policy.limits.maxSessionSeconds } : {},
      busy: () => this.book.open.size > 0,
      lastActivity: () => this.book.lastActivity,
      terminate: (kind, message, reason) => {
        this.deps.logger.info({ sessionId: session.id, kind, reason }, 'session ended by the gateway');
        session.record({ type: 'error', kind: 'session', code: kind, message });
        this.end(`ended by the gateway: ${reason}`);
      },
    });
    session.record({ type: 'notice', kind: 'session-limits', ...this.limits.summary });
  }

  private end(reason: string): void {
    this.endReason ??= reason;
    this.conn.end();
  }

  private failed(e: unknown): void {
    this.deps.logger.warn({ client: this.address, sessionId: this.session?.id, err: describeError(e) }, 'SSH channel handler failed');
    this.conn.end();
  }

  private async closed(reason: string): Promise<void> {
    this.gone = true;
    this.limits?.cancel();
    for (const close of [...this.book.open.values()]) close(reason);
    const refusals = this.channels?.refusals();
    if (refusals) this.session?.record({ type: 'notice', kind: 'channels-refused', counts: refusals });
    this.target?.end();
    await this.session?.close(reason).catch((e) => this.deps.logger.warn({ sessionId: this.session?.id, err: describeError(e) }, 'could not seal the session archive'));
  }
}

/** How the session's evidence names the target credential (where it comes from, never what it is). */
function credentialRefOf(t: SshTarget): string {
  const c = t.credential;
  if ('certificate' in c) return `certificate:${c.certificate.caKey}`;
  return 'file' in c ? `file:${c.file}` : `env:${c.env}`;
}
