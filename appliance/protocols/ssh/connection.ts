/**
 * One SSH client connection: public-key authentication (the identity), target selection from the user
 * name and the policy grant, Vigil's own login to the target (host key pinned), then the session's
 * channels. In this slice only `exec` on a `session` channel runs; every other request is refused with a
 * message and recorded (docs/ssh-gateway.md). A session archive starts at the first public-key attempt,
 * so a scanner that never tries a key leaves none.
 */
import type { AuthContext, Client, Connection } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import type { AdmissionTicket } from '../../net/admission.ts';
import type { PipelineSession, SessionPipeline } from '../../pipeline/session.ts';
import { startSessionLimits, type SessionLimits } from '../../pipeline/session-limits.ts';
import type { AuthorizedKeys } from './client-auth.ts';
import type { SshListenerConfig, SshTarget } from './config.ts';
import { ChannelBook } from './exec-channel.ts';
import { runDirectTcpip } from './forwarding.ts';
import { handleSessionChannel, NOT_YET, type SessionChannelContext } from './session-channel.ts';
import { connectUpstream, readTargetKey, UpstreamError } from './upstream.ts';
import { parseUserName } from './user-name.ts';

export interface SshConnectionDeps {
  listener: SshListenerConfig;
  targets: ReadonlyMap<string, SshTarget>;
  pipeline: SessionPipeline;
  keys: AuthorizedKeys;
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
  /** Why the gateway ended the connection, when it did (else the client disconnected). */
  private endReason: string | undefined;
  private gone = false;

  constructor(
    private readonly conn: Connection,
    private readonly address: string,
    private readonly deps: SshConnectionDeps,
    private readonly ticket: AdmissionTicket,
  ) {
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => this.authenticate(ctx));
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

  private authenticate(ctx: AuthContext): void {
    if (ctx.method !== 'publickey' || this.verified) return ctx.reject(['publickey']);
    const session = this.open();
    const r = this.deps.keys.check(ctx);
    if (r.kind === 'query-ok') return ctx.accept();
    if (r.kind === 'unlisted') {
      session.identityRejected('ssh-key', `public key ${r.fingerprint} is not listed for any identity`, 'E_SSH_KEY_UNLISTED');
      return ctx.reject(['publickey']);
    }
    if (r.kind === 'bad-signature') {
      session.identityRejected('ssh-key', `the signature made with key ${r.fingerprint} does not verify`, 'E_SSH_BAD_SIGNATURE');
      return ctx.reject(['publickey']);
    }
    this.verified = true;
    session.identityVerified(r.identity);
    if (!this.ticket.authenticate()) {
      session.record({ type: 'error', kind: 'startup', code: 'capacity', message: `too many sessions on this Vigil listener (limit ${this.deps.listener.maxConnections}, listeners.ssh.maxConnections)` });
      ctx.reject([]);
      this.conn.end();
      return;
    }
    this.upstream = this.selectTarget(session, ctx.username);
    ctx.accept();
  }

  /** Grants the target the user name selects and logs in to it; a refusal is what every exec is then told. */
  private async selectTarget(session: PipelineSession, userName: string): Promise<Upstream> {
    const sel = parseUserName(userName);
    const t = this.deps.targets.get(sel.target);
    const login = sel.login ?? t?.user;
    const credentialRef = t ? ('file' in t.credential ? `file:${t.credential.file}` : `env:${t.credential.env}`) : undefined;
    const g = session.grantTarget(sel.target, t ? { address: `${t.host}:${t.port}`, ...(login ? { user: login } : {}), ...(credentialRef ? { credentialRef } : {}) } : {});
    const subject = session.identity!.subject;
    if (!g.ok || !t) return { ok: false, rule: 'access', reason: `no policy grants ${subject} access to target "${sel.target}" (connect as login+target@vigil or target@vigil)` };
    if (login !== t.user && !t.logins.includes(login!)) {
      const reason = `target "${t.name}" does not allow logging in as "${login}" (its user or logins)`;
      session.record({ type: 'decision', decision: 'block', rule: 'vigil/login', reason, scope: 'session' });
      return { ok: false, rule: 'vigil/login', reason };
    }
    try {
      const client = await connectUpstream(t, login!, readTargetKey(t, this.deps.resolvePath));
      client.on('error', () => undefined);
      if (this.gone) {
        client.end();
        return { ok: false, rule: 'vigil/target', reason: 'the client went away' };
      }
      client.on('close', () => this.conn.end());
      this.target = client;
      session.record({ type: 'notice', kind: 'target-connected', method: 'publickey', user: login });
      return { ok: true, client };
    } catch (e) {
      const code = e instanceof UpstreamError ? e.code : 'E_SSH_TARGET_UNAVAILABLE';
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
    };
    this.conn.on('session', (accept) => handleSessionChannel(ctx, accept()));
    this.conn.on('tcpip', (accept, reject, info) => runDirectTcpip(ctx, accept, reject, info));
    this.conn.on('request', (_a, reject, name) => {
      refused(`the global request ${name} (remote forwarding)`);
      reject?.();
    });
  }

  /**
   * Idle and maximum-duration limits of the policy (docs/policy.md, "Session limits"): idle counts while no
   * channel runs a command. A listed key does not expire, so there is no credential limit.
   */
  private enforceLimits(session: PipelineSession): void {
    const policy = session.policy?.config;
    if (!policy) return;
    this.limits = startSessionLimits({
      toleranceSeconds: 0,
      credential: 'public key',
      limits: { idleSeconds: policy.limits.idleSeconds, maxSessionSeconds: policy.limits.maxSessionSeconds },
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
    this.target?.end();
    await this.session?.close(reason).catch((e) => this.deps.logger.warn({ sessionId: this.session?.id, err: describeError(e) }, 'could not seal the session archive'));
  }
}
