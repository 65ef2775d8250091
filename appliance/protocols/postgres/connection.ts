/**
 * One client connection, from the first byte to the query phase: startup → identity (mTLS certificate,
 * or an OIDC token sent as the password, over TLS) → target and policy grant → login to the target with
 * the appliance's credential → hand over to the proxy. Every failure after the startup packet is
 * recorded as a session; the client gets the matching SQLSTATE and a message that helps without leaking.
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { describeError, VigilError } from '../../../shared/errors.ts';
import { clientMessageFor, identityFromCertificate, isIdentityError, type JwtVerifierRegistry, type MtlsConfig, type VerifiedIdentity } from '../../identity/index.ts';
import { isLoopback } from '../../net/address.ts';
import type { AdmissionTicket } from '../../net/admission.ts';
import type { PipelineSession, SessionPipeline } from '../../pipeline/session.ts';
import { startSessionLimits, type SessionLimits } from '../../pipeline/session-limits.ts';
import type { PolicyConfig } from '../../policy/config.ts';
import { postgresPolicyOf } from './policy-config.ts';
import type { SqlClassifier } from '../../sql/index.ts';
import { readCredential } from '../../targets/credentials.ts';
import type { CancelRegistry } from './cancel-registry.ts';
import { fatal } from './client-errors.ts';
import type { PostgresListenerConfig, PostgresTarget } from './config.ts';
import type { CatalogRegistry } from './catalog/catalog-registry.ts';
import { readFrame } from './frame-io.ts';
import { sqlstateFor } from './identity-errors.ts';
import { isRefusal, reviewStartup } from './startup-settings.ts';
import { clientHandshake, type ClientTls } from './handshake.ts';
import { PgProxy } from './proxy.ts';
import { cancelUpstream, connectUpstream } from './upstream-connect.ts';
import { decodePasswordMessage, protocolNegotiation, toClient, type FrontendReader, type StartupMessage } from './wire/index.ts';

export interface Logger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

export interface ConnectionDeps {
  listener: PostgresListenerConfig;
  secureContext: SecureContext | undefined;
  targets: ReadonlyMap<string, PostgresTarget>;
  pipeline: SessionPipeline;
  identity: JwtVerifierRegistry;
  mtls: MtlsConfig | undefined;
  fingerprintKey: Uint8Array;
  classifier: SqlClassifier;
  resultRows: number;
  cancels: CancelRegistry;
  resolvePath: (p: string) => string;
  logger: Logger;
  catalogs: CatalogRegistry;
}


/** Thrown to end the connection with a FATAL the client may read. */
class Refusal extends Error {
  constructor(
    readonly sqlstate: string,
    readonly clientMessage: string,
    readonly internal: string,
    readonly hint?: string,
  ) {
    super(internal);
  }
}

/** `admission` is the connection's place in the listener's admission (appliance/net/admission.ts). */
export async function handleConnection(raw: Socket, deps: ConnectionDeps, admission: AdmissionTicket): Promise<void> {
  raw.setNoDelay(true);
  const address = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? 0}`;
  let socket: Socket = raw;
  let session: PipelineSession | undefined;
  // The pre-authentication deadline (listeners.postgres.authenticationTimeoutMs, from accept), or an
  // eviction to make room for a client from a less busy address: FATAL, close, and the session says why.
  admission.onEnd((end) => {
    if (!socket.destroyed) socket.end(fatal(end.kind === 'deadline' ? '08006' : '53300', end.message));
    socket.destroy();
    void session?.close(end.message);
  });
  try {
    const hs = await clientHandshake(raw, { secureContext: deps.secureContext, requestCert: deps.listener.clientCertificates });
    if (hs.kind === 'gone') return;
    if (hs.kind === 'cancel') {
      await deps.cancels.find(hs.request.pid, hs.request.secret)?.cancel();
      raw.destroy();
      return;
    }
    socket = hs.socket;
    const { reader, startup, tls } = hs;
    const neg = protocolNegotiation(startup, 0);
    if (neg) socket.write(toClient.negotiateProtocolVersion(neg.version, neg.unrecognized));
    if (startup.params.has('replication')) throw new Refusal('0A000', 'replication connections are not supported through Vigil', 'replication requested');

    session = deps.pipeline.open('postgres', { address, ...(tls ? { tls: `${tls.protocol} ${tls.cipher}` } : {}) });
    const identity = await authenticateClient(socket, reader, tls, deps, session, raw.remoteAddress ?? '');
    session.identityVerified(identity);

    const targetName = startup.params.get('database') ?? startup.params.get('user') ?? '';
    const target = deps.targets.get(targetName);
    const grant = session.grantTarget(targetName, target ? { address: `${target.host}:${target.port}`, user: target.user, ...credentialRef(target) } : {});
    if (!grant.ok || !target) {
      const msg = `no policy grants ${identity.subject} access to target "${targetName}"`;
      throw new Refusal('28000', msg, msg, 'connect with dbname=<target name> for a target your policy names');
    }
    const params = forwardedParams(startup, session);
    if (!admission.authenticate()) {
      if (admission.state === 'ended') return; // closed meanwhile by its deadline or an eviction, which said why
      const msg = `too many sessions on this Vigil listener (limit ${deps.listener.maxConnections}, listeners.postgres.maxConnections)`;
      throw new Refusal('53300', msg, 'authenticated session capacity full', 'retry later, or ask the Vigil operator to raise maxConnections');
    }
    await startProxy(socket, reader, target, params, session, deps);
  } catch (e) {
    admission.cancelDeadline();
    await refuse(socket, session, e, deps, address);
  }
}

async function authenticateClient(socket: Socket, reader: FrontendReader, tls: ClientTls | undefined, deps: ConnectionDeps, session: PipelineSession, remote: string): Promise<VerifiedIdentity> {
  if (deps.mtls && deps.listener.clientCertificates && tls?.peerCertificate) {
    try {
      return identityFromCertificate(tls.peerCertificate, tls.authorized, deps.mtls, { fingerprintKey: deps.fingerprintKey, authorizationError: tls.authorizationError });
    } catch (e) {
      throw identityRefusal(e, 'mtls', session);
    }
  }
  if (!tls && !(deps.listener.allowTokenWithoutTlsOnLoopback && isLoopback(remote))) {
    session.identityRejected('oidc-jwt', 'client did not use TLS; a token is never accepted in cleartext', 'E_TLS_REQUIRED');
    throw new Refusal('28000', 'Vigil accepts identity tokens only over TLS', 'no TLS', 'connect with sslmode=require (or verify-full) and your token as the password');
  }
  socket.write(toClient.authenticationCleartextPassword());
  const frame = await readFrame(socket, reader);
  if (!frame) throw new Refusal('08006', 'client went away', 'client closed before sending its token');
  if (frame.type !== 'p') throw new Refusal('08P01', 'expected a password message holding your identity token', `got ${String(frame.type)} instead of a password message`);
  const token = decodePasswordMessage(frame.body).password;
  try {
    return await deps.identity.verify(token);
  } catch (e) {
    throw identityRefusal(e, 'oidc-jwt', session);
  }
}

function identityRefusal(e: unknown, method: string, session: PipelineSession): Refusal {
  const code = isIdentityError(e) ? e.code : 'E_ID_INTERNAL';
  session.identityRejected(method, describeError(e), code);
  return new Refusal(sqlstateFor(e), clientMessageFor(e), `identity rejected: ${describeError(e)}`);
}

function forwardedParams(startup: StartupMessage, session: PipelineSession): Record<string, string> {
  const policy = session.policy?.config;
  const reviewed = reviewStartup(startup.params, policy ? postgresPolicyOf(policy).allowStartupOptions : false, policy?.limits.maxStatementSeconds);
  if (isRefusal(reviewed)) {
    session.record({ type: 'decision', decision: 'block', rule: `vigil/startup-parameters`, reason: reviewed.message, scope: 'session' });
    throw new Refusal(reviewed.sqlstate, reviewed.message, `startup parameters refused: ${reviewed.message}`, reviewed.hint);
  }
  const settings = Object.fromEntries(Object.entries(reviewed.requested).map(([k, v]) => [k, session.masks.strict(v)]));
  if (Object.keys(settings).length) session.record({ type: 'notice', kind: 'startup-parameters', settings });
  return reviewed.params;
}

async function startProxy(socket: Socket, reader: FrontendReader, target: PostgresTarget, params: Record<string, string>, session: PipelineSession, deps: ConnectionDeps): Promise<void> {
  let upstream;
  try {
    const password = readCredential(target.credential, deps.resolvePath, target.name);
    upstream = await connectUpstream(target, { password, params, resolvePath: deps.resolvePath });
  } catch (e) {
    const why = describeError(e);
    session.record({ type: 'error', kind: 'startup', code: '08006', message: `could not open the session on target ${target.name}: ${why}` });
    throw new Refusal('08006', `could not connect to target "${target.name}"`, `target ${target.name} unavailable: ${why}`, 'the target may be down; the attempt was recorded');
  }
  const up = upstream.session;
  if (up.parameters.get('client_encoding')?.toUpperCase() !== 'UTF8') {
    upstream.socket.destroy();
    session.record({ type: 'error', kind: 'startup', code: '0A000', message: `target ${target.name} did not accept client_encoding UTF8 (it reports ${up.parameters.get('client_encoding') ?? 'nothing'})` });
    throw new Refusal('0A000', `target "${target.name}" did not accept client_encoding UTF8, which Vigil requires`, 'client_encoding not UTF8');
  }
  if (up.parameters.get('standard_conforming_strings') !== 'on') {
    upstream.socket.destroy();
    // With it off, backslashes in '…' strings change how the server reads SQL from how Vigil parses it.
    session.record({ type: 'error', kind: 'startup', code: '0A000', message: `target ${target.name} runs with standard_conforming_strings off` });
    throw new Refusal('0A000', `target "${target.name}" runs with standard_conforming_strings off, which Vigil cannot police safely`, 'standard_conforming_strings off', 'the target\'s administrator must turn it on');
  }
  const key = deps.cancels.issue({
    cancel: async () => {
      session.record({ type: 'notice', kind: 'cancel-request', message: 'the client asked to cancel the running command' });
      await cancelUpstream(target, up.backendKey).catch(() => undefined);
    },
  });
  session.record({ type: 'notice', kind: 'target-connected', method: up.method, ...(upstream.tls ? { tls: upstream.tls } : {}), serverVersion: up.parameters.get('server_version') });
  const hello = [toClient.authenticationOk(), ...[...up.parameters].map(([k, v]) => toClient.parameterStatus(k, v)), toClient.backendKeyData(key.pid, key.secret), toClient.readyForQuery(up.transactionStatus)];
  socket.write(Buffer.concat(hello));
  const policy = session.policy!.config;
  const pg = postgresPolicyOf(policy);
  let limits: SessionLimits | undefined;
  let ended = false;
  const proxy = new PgProxy({
    client: socket,
    upstream: upstream.socket,
    clientReader: reader,
    session,
    classifier: deps.classifier,
    maskPolicy: pg.masking,
    classRules: { pan: target.cardholderData.pan, sad: target.cardholderData.sad, redact: pg.masking.redactColumns },
    database: target.database,
    resultRowsCap: deps.resultRows,
    upstreamLeftover: up.leftover,
    logger: deps.logger,
    catalog: deps.catalogs.for(target),
    trustedFunctions: target.trustedFunctions,
    cancelTarget: () => cancelUpstream(target, up.backendKey),
    maxStatementSeconds: policy.limits.maxStatementSeconds,
    onClose: (reason) => {
      ended = true;
      limits?.cancel();
      deps.cancels.release(key.pid);
      session.close(reason).catch((e) => deps.logger.warn({ sessionId: session.id, err: describeError(e) }, 'could not seal the session archive'));
    },
  });
  proxy.start();
  limits = enforceSessionLimits(proxy, session, target, up.backendKey, policy.limits, deps);
  if (ended) limits.cancel();
}

/**
 * Ends the session when its token or certificate expires (plus the tolerance it was verified with), when
 * it idles longer than the policy allows, or at its maximum duration (docs/policy.md, "Session limits").
 * PostgreSQL has no re-authentication: ending the session is the only answer.
 */
function enforceSessionLimits(proxy: PgProxy, session: PipelineSession, target: PostgresTarget, backendKey: { pid: number; secret: Buffer }, policy: PolicyConfig['limits'], deps: ConnectionDeps): SessionLimits {
  const id = session.identity!;
  const mtls = id.method === 'mtls';
  const limits = startSessionLimits({
    expiresAt: id.expiresAt,
    // The certificate check allows no clock tolerance (mtls.ts), so a certificate's session gets none either.
    toleranceSeconds: mtls ? 0 : (deps.identity.clockToleranceSeconds(id.provider) ?? 0),
    credential: mtls ? 'client certificate' : 'identity token',
    limits: { idleSeconds: policy.idleSeconds, maxSessionSeconds: policy.maxSessionSeconds },
    busy: () => proxy.busy,
    lastActivity: () => proxy.lastClientActivity,
    terminate: (kind, message, reason) => {
      // Closing the target connection does not stop a running statement: PostgreSQL only notices a vanished
      // client when it next writes to it, so a statement would run (and commit) to its end. Cancel it.
      if (proxy.busy) void cancelUpstream(target, backendKey).catch(() => undefined);
      deps.logger.info({ sessionId: session.id, kind, reason }, 'session ended by the gateway');
      proxy.terminate(kind === 'idle' ? '57P05' : '57P01', message, `ended by the gateway: ${reason}`);
    },
  });
  session.record({ type: 'notice', kind: 'session-limits', ...limits.summary });
  return limits;
}

async function refuse(socket: Socket, session: PipelineSession | undefined, e: unknown, deps: ConnectionDeps, address: string): Promise<void> {
  const r =
    e instanceof Refusal
      ? e
      : new Refusal(isIdentityError(e) ? sqlstateFor(e) : ((e as { sqlstate?: string }).sqlstate ?? '08P01'), e instanceof VigilError ? e.message : 'internal error', describeError(e));
  deps.logger.info({ client: address, sessionId: session?.id, sqlstate: r.sqlstate, reason: r.internal }, 'connection refused');
  if (!socket.destroyed) socket.end(fatal(r.sqlstate, r.clientMessage, r.hint));
  socket.destroySoon?.();
  if (session) {
    session.record({ type: 'error', kind: 'startup', code: r.sqlstate, message: r.clientMessage });
    await session.close(`refused: ${r.clientMessage}`).catch(() => undefined);
  }
}

function credentialRef(t: PostgresTarget): { credentialRef?: string } {
  if (!t.credential) return {};
  return { credentialRef: 'file' in t.credential ? `file:${t.credential.file}` : `env:${t.credential.env}` };
}
