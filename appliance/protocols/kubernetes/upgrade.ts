/**
 * A streaming request (exec, attach, port-forward) that asks to upgrade the connection. Decided and recorded
 * like any request, then, over WebSocket:
 *
 *  1. the request is read as the API server reads it (request-info.ts, stream-request.ts) and its query
 *     rebuilt, so what policy decides on, approvers see and the API server runs is the same argv;
 *  2. the command event and decision are durable (record, then forward);
 *  3. the client's upgrade is accepted (101) — so a refusal or a wait can be said in-band: kubectl prints
 *     the error channel's Status instead of falling back to SPDY on a failed handshake;
 *  4. blocked, not approved, or refused by the API server → a Failure Status on the error channel, closed;
 *     held → the client's messages are queued (bounded) until approval, with a line on stderr saying so;
 *  5. Vigil opens its own WebSocket to the API server (impersonating the caller, its own credential) and
 *     relays message by message (exec-stream.ts, port-forward.ts).
 *
 * A SPDY upgrade (`Upgrade: SPDY/3.1`, a POST: kubectl with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, old
 * clients) is decided the same way; refusals and holds are then HTTP answers before the upgrade (there is no
 * error channel yet). exec/attach (v4.channel.k8s.io) are relayed as SPDY to the API server (spdy-exec.ts), a
 * port-forward is carried in Vigil's WebSocket tunnel; other SPDY protocol versions: vigil/spdy-unsupported.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { describeError } from '../../../shared/errors.ts';
import { maskEvidenceText } from '../../../shared/pan/index.ts';
import { ExecStream } from './exec-stream.ts';
import { describeObject, header, RECORDED_HEADERS, requestFields, type ExchangeContext } from './exchange.ts';
import type { CommandDecision } from '../../pipeline/session.ts';
import type { CommandFacts } from '../../policy/engine.ts';
import { kubeFacts } from './facts.ts';
import { PortForwardStream, PORT_FORWARD_TUNNEL, rawSpdyClient } from './port-forward.ts';
import { requestInfo, RequestInfoError, type RequestInfo } from './request-info.ts';
import { SPDY_REMOTE_COMMAND, SpdyExecBridge } from './spdy-exec.ts';
import { maskJson } from './response-masker.ts';
import { sendStatus } from './status.ts';
import { StreamRequestError, streamFacts, streamRequest, type StreamKind, type StreamRequest } from './stream-request.ts';
import { acceptKey, offeredProtocols, validClientKey, WsConnection } from './websocket.ts';

const REMOTE_COMMAND = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** One message at most this large either way (the API server writes 32 KiB; kubectl the same). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const STREAM_KINDS = new Set<string>(['exec', 'attach', 'portforward']);

function emptyInfo(path: string, method: string): RequestInfo {
  return { isResourceRequest: false, path, verb: method.toLowerCase(), apiPrefix: '', apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '', parts: [] };
}

/** Which subprotocol Vigil relays for this stream, from the client's offer (its order). */
function chooseProtocol(kind: StreamKind, offered: readonly string[]): string | undefined {
  if (kind === 'portforward') return offered.find((p) => p === PORT_FORWARD_TUNNEL);
  return offered.find((p) => (REMOTE_COMMAND as readonly string[]).includes(p));
}

export async function runUpgrade(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, socket: Duplex, head: Buffer, path: string, search: string): Promise<void> {
  const { session } = ctx;
  const method = (req.method ?? 'GET').toUpperCase();
  const transport = (header(req, 'upgrade') ?? '').toLowerCase();
  let info: RequestInfo;
  let refusal: { rule: string; reason: string } | undefined;
  try {
    info = requestInfo(method, path, new URLSearchParams(search));
  } catch (e) {
    if (!(e instanceof RequestInfoError)) throw e;
    info = emptyInfo(path, method);
    refusal = { rule: 'vigil/request', reason: `Vigil cannot tell what this request is: ${e.message}` };
  }
  let facts = kubeFacts(info);
  const isStream = info.isResourceRequest && info.apiGroup === '' && info.resource === 'pods' && STREAM_KINDS.has(info.subresource) && info.name !== '';
  let sr: StreamRequest | undefined;
  if (!refusal && !isStream) refusal = { rule: 'vigil/not-yet', reason: `an upgrade of ${info.subresource || info.verb} is not supported by this Vigil version yet` };
  if (!refusal && isStream) {
    try {
      sr = streamRequest(info.subresource as StreamKind, search);
      facts = streamFacts(facts, sr);
    } catch (e) {
      if (!(e instanceof StreamRequestError)) throw e;
      refusal = { rule: 'vigil/request', reason: `Vigil cannot tell what this ${info.subresource} runs: ${e.message}` };
    }
  }
  const ws = transport === 'websocket';
  // A legacy SPDY port-forward is the same SPDY session as the WebSocket tunnel's: Vigil carries it in one.
  const spdyPortForward = transport === 'spdy/3.1' && sr?.kind === 'portforward' && offeredProtocols(req.headers['x-stream-protocol-version']).includes('portforward.k8s.io');
  // exec/attach over SPDY: relayed as SPDY to the API server (which proxies it to the kubelet), v4 only.
  const spdyExec = transport === 'spdy/3.1' && (sr?.kind === 'exec' || sr?.kind === 'attach') && offeredProtocols(req.headers['x-stream-protocol-version']).includes(SPDY_REMOTE_COMMAND);
  const protocol = sr && ws ? chooseProtocol(sr.kind, offeredProtocols(req.headers['sec-websocket-protocol'])) : spdyPortForward ? PORT_FORWARD_TUNNEL : spdyExec ? SPDY_REMOTE_COMMAND : undefined;
  const key = header(req, 'sec-websocket-key');
  if (!refusal && ws && !validClientKey(key)) refusal = { rule: 'vigil/request', reason: 'the WebSocket handshake has no valid Sec-WebSocket-Key' };
  // The API server's WebSocket upgrader accepts only GET; Vigil sends GET, so it decides on a GET.
  if (!refusal && ws && method !== 'GET') refusal = { rule: 'vigil/request', reason: `a WebSocket upgrade must be a GET (this one is a ${method})` };
  if (!refusal && ws && header(req, 'sec-websocket-version') !== '13') refusal = { rule: 'vigil/request', reason: 'only WebSocket version 13 is spoken' };
  if (!refusal && ws && !protocol) {
    refusal = { rule: 'vigil/stream-protocol', reason: `none of the offered subprotocols is relayed by Vigil (it speaks ${sr!.kind === 'portforward' ? PORT_FORWARD_TUNNEL : REMOTE_COMMAND.join(', ')})` };
  }
  if (!refusal && !ws && !spdyPortForward && !spdyExec) {
    // Policy's own refusal is the one to show; else the transport is what Vigil cannot relay.
    const peek = session.policy?.decideAll([facts], session.protocol);
    if (!peek || peek.action !== 'block') {
      refusal = transport.startsWith('spdy/')
        ? { rule: 'vigil/spdy-unsupported', reason: `Vigil relays SPDY exec and attach only as ${SPDY_REMOTE_COMMAND} and port-forward as portforward.k8s.io (none offered); use WebSockets (kubectl 1.31+)` }
        : { rule: 'vigil/request', reason: `an upgrade to "${transport}" is not one Vigil relays` };
    }
  }

  // The command's text (what approvers see) is the request Vigil will send: the rebuilt query, not the
  // client's spelling of it (which the event keeps as `query`).
  const sent = sr ? sr.canonicalQuery : search;
  const text = session.masks.evidence(`${method} ${path}${sent ? `?${sent}` : ''}`);
  const recordedHeaders = Object.fromEntries(RECORDED_HEADERS.flatMap((h) => {
    const v = header(req, h);
    return v === undefined ? [] : [[h, session.masks.evidence(v)]];
  }));
  const argv = sr?.kind === 'exec' ? sr.command.map((a) => session.masks.evidence(a)) : [];
  const display = argv.join(' ');
  const streamFields = sr
    ? { kind: sr.kind, transport: ws ? 'websocket' : transport, ...(protocol ? { protocol } : {}), ...(sr.kind === 'exec' ? { command: argv } : {}), ...(sr.kind !== 'portforward' ? { container: session.masks.evidence(sr.container), stdin: sr.stdin, stdout: sr.stdout, stderr: sr.stderr, tty: sr.tty } : { ports: sr.ports }) }
    : { transport };
  const d = session.decide({
    kind: 'k8s',
    text,
    facts: [facts],
    fields: { method, path: session.masks.evidence(path), ...(search ? { query: session.masks.evidence(search) } : {}), headers: recordedHeaders },
    extra: { request: requestFields(info), stream: streamFields },
    ...(refusal ? { refusal } : {}),
  });
  session.recordMasking(d.id);
  try {
    await session.commit();
  } catch (e) {
    ctx.logger.warn({ sessionId: session.id, err: describeError(e) }, 'recording failed; ending the Kubernetes session');
    sendStatus(res, 503, 'the request could not be recorded; Vigil did not forward it');
    ctx.abort('recording failed');
    return;
  }
  const decision = d.decision;
  const forbidden = (why: string) => `${info.verb} ${describeObject(info)} ${why}`;
  const blocked = decision.action === 'block' ? forbidden(`is forbidden by Vigil policy (rule ${decision.rule}): ${maskEvidenceText(decision.reason).text}`) : '';
  if ((!ws && !spdyPortForward && !spdyExec) || !protocol || !sr || decision.action === 'block' && decision.rule.startsWith('vigil/')) {
    if (decision.action === 'block') return sendStatus(res, 403, forbidden(`is forbidden by Vigil (rule ${decision.rule}): ${maskEvidenceText(decision.reason).text}`));
    return sendStatus(res, 400, 'this upgrade cannot be relayed');
  }
  const streams: StreamContext = { ctx, req, path, sr, protocol, command: d, text, facts };
  // exec and attach answer in-band (kubectl prints the error channel's Status and does not fall back to SPDY);
  // a port-forward's SPDY session has no such channel: its refusals are HTTP answers before the upgrade.
  if (sr.kind === 'portforward') {
    if (decision.action === 'block') return sendStatus(res, 403, blocked);
    if (decision.action === 'require-approval') {
      const why = await holdStream(streams, () => undefined);
      if (why !== undefined) return sendStatus(res, 403, forbidden(why));
    }
    // The client gave up while it waited: nothing is opened at the API server.
    if (socket.destroyed) return;
    const up = await openUpstream(streams);
    if (!up.ok) return sendStatus(res, up.code, up.message);
    if (socket.destroyed) {
      up.socket.destroy();
      return;
    }
    if (spdyPortForward) return relaySpdyPortForward(streams, socket, head, up.socket, up.head, info);
    const done = acceptClient(streams, socket, key!, head, (client, onEnd) => new PortForwardStream(client, { session, command: d.id, namespace: info.namespace, pod: info.name, onEnd }));
    attachUpstream(streams, done.relay, up.socket, up.head, socket);
    return done.ended;
  }
  if (spdyExec) {
    // No error channel before the upgrade: refusals and the wait are HTTP, as for a port-forward.
    if (decision.action === 'block') return sendStatus(res, 403, blocked);
    if (decision.action === 'require-approval') {
      const why = await holdStream(streams, () => undefined);
      if (why !== undefined) return sendStatus(res, 403, forbidden(why));
    }
    if (socket.destroyed) return;
    const up = await openUpstream(streams, true);
    if (!up.ok) return sendStatus(res, up.code, up.message);
    if (socket.destroyed) {
      up.socket.destroy();
      return;
    }
    return relaySpdyExec(streams, socket, head, up.socket, up.head, display);
  }
  const done = acceptClient(streams, socket, key!, head, (client, onEnd) =>
    new ExecStream(client, { session, command: d.id, channel: 0, protocol: protocol as (typeof REMOTE_COMMAND)[number], stdin: sr.stdin, stdout: sr.stdout, stderr: sr.stderr, tty: sr.tty, kind: sr.kind as 'exec' | 'attach', display, argv: sr.command, onEnd }),
  );
  const r = done.relay as ExecStream;
  if (decision.action === 'block') {
    r.refuse(403, 'Forbidden', blocked);
    return done.ended;
  }
  if (decision.action === 'require-approval') {
    const why = await holdStream(streams, (requestId) => r.note(`vigil: ${sr.kind} held for approval (rule ${decision.rule}, request ${requestId}); waiting…\r\n`));
    if (done.isEnded()) return done.ended;
    if (why !== undefined) {
      r.refuse(403, 'Forbidden', forbidden(why));
      return done.ended;
    }
  }
  const up = await openUpstream(streams);
  if (done.isEnded()) {
    if (up.ok) up.socket.destroy();
    return done.ended;
  }
  if (!up.ok) {
    r.refuse(up.code, up.reason, up.message);
    return done.ended;
  }
  attachUpstream(streams, r, up.socket, up.head, socket);
  return done.ended;
}

interface StreamContext {
  ctx: ExchangeContext;
  req: IncomingMessage;
  path: string;
  sr: StreamRequest;
  protocol: string;
  command: CommandDecision;
  text: string;
  facts: CommandFacts;
}

type Relay = ExecStream | PortForwardStream;

/** Writes the 101 and starts the client's WebSocket; `ended` resolves when the relay is done. */
function acceptClient(sc: StreamContext, socket: Duplex, key: string, head: Buffer, make: (client: WsConnection, onEnd: () => void) => Relay): { relay: Relay; ended: Promise<void>; isEnded(): boolean } {
  const { session } = sc.ctx;
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Protocol: ${sc.protocol}\r\n\r\n`);
  let relay: Relay | undefined;
  let over = false;
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const client = new WsConnection(socket, 'server', {
    message: (binary, data) => relay?.fromClient(binary, data),
    close: (_code, reason) => relay?.end(`client closed the stream${reason ? ` (${maskEvidenceText(reason).text})` : ''}`, 1000, true),
    error: (e) => session.record({ type: 'error', kind: 'protocol', code: 'websocket', command: sc.command.id, message: e.message }),
  }, MAX_MESSAGE_BYTES, head);
  let untrack: () => void = () => undefined;
  relay = make(client, () => {
    over = true;
    untrack();
    resolveEnded();
  });
  const r = relay;
  untrack = sc.ctx.track((reason) => r.end(`the session ended: ${reason}`, 1001));
  return { relay, ended, isEnded: () => over };
}

/** Holds the stream for approval; undefined once approved, else why not (for the refusal). */
async function holdStream(sc: StreamContext, tell: (requestId: string) => void): Promise<string | undefined> {
  const { session, logger } = sc.ctx;
  const decision = sc.command.decision;
  if (decision.action !== 'require-approval') return undefined;
  // Bound to the exact request the API server will get: the path and the rebuilt query (argv, container, flags).
  const exact = Buffer.from(`${(sc.req.method ?? 'GET').toUpperCase()} ${sc.path}?${sc.sr.canonicalQuery}\n`);
  const outcome = await session.hold(
    sc.command,
    { display: sc.text, exactBytes: exact, classification: [{ class: sc.facts.class, command: sc.facts.command, tags: sc.facts.tags, tables: sc.facts.objects }] },
    (held) => {
      logger.info({ sessionId: session.id, requestId: held.requestId, rule: decision.rule }, 'Kubernetes stream held for approval');
      tell(held.requestId);
    },
  );
  if (outcome.approved) return undefined;
  const why = outcome.kind === 'expired' ? 'the approval request expired' : `not approved: ${maskEvidenceText(outcome.reason).text}`;
  return `needs approval (rule ${decision.rule}, request ${outcome.requestId ?? 'none'}): ${why}`;
}

type Opened = { ok: true; socket: Duplex; head: Buffer } | { ok: false; code: number; reason: string; message: string };

/** Vigil's own WebSocket to the API server, impersonating the caller, with the rebuilt query. */
async function openUpstream(sc: StreamContext, spdy = false): Promise<Opened> {
  const { ctx, sr, command } = sc;
  const { session } = ctx;
  const headers: OutgoingHttpHeaders = { 'impersonate-user': ctx.impersonation.user };
  if (ctx.impersonation.groups.length > 0) headers['impersonate-group'] = ctx.impersonation.groups;
  const ua = header(sc.req, 'user-agent');
  if (ua) headers['user-agent'] = ua;
  let up;
  try {
    up = await ctx.upstream.upgrade(`${sc.path}${sr.canonicalQuery ? `?${sr.canonicalQuery}` : ''}`, headers, [sc.protocol], new AbortController().signal, spdy);
  } catch (e) {
    session.record({ type: 'error', kind: 'target', code: 'upstream-failed', command: command.id, message: describeError(e) });
    return { ok: false, code: 502, reason: 'InternalError', message: 'Vigil could not open the stream at the Kubernetes API server (recorded)' };
  }
  if (up.upgraded) return { ok: true, socket: up.socket, head: up.head };
  const body = await readCapped(up.response, 64 * 1024);
  const status = up.response.statusCode ?? 502;
  let message = `the API server answered ${status}`;
  try {
    const parsed = maskJson(JSON.parse(body), { masks: session.masks, reveal: [], secretsRequest: false }) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    /* not a Status: the code is all that is said */
  }
  if (status === 401) message = 'the Kubernetes API server refused Vigil\'s credential for this target (recorded)';
  session.record({ type: 'result', command: command.id, status, bytes: body.length, body: session.masks.evidence(message), stream: sr.kind });
  session.recordMasking(command.id);
  return { ok: false, code: status === 401 ? 502 : status, reason: status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : 'InternalError', message };
}

/** kubectl's legacy SPDY port-forward: answered 101 SPDY/3.1, its bytes carried in Vigil's WebSocket tunnel. */
function relaySpdyPortForward(sc: StreamContext, socket: Duplex, head: Buffer, upSocket: Duplex, upHead: Buffer, info: RequestInfo): Promise<void> {
  const { session } = sc.ctx;
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n');
  return new Promise<void>((resolve) => {
    let untrack: () => void = () => undefined;
    const relay = new PortForwardStream(rawSpdyClient(socket), { session, command: sc.command.id, namespace: info.namespace, pod: info.name, onEnd: () => {
      untrack();
      resolve();
    } });
    untrack = sc.ctx.track((reason) => relay.end(`the session ended: ${reason}`));
    attachUpstream(sc, relay, upSocket, upHead, socket);
    if (head.length) relay.fromClient(true, head);
    socket.on('data', (c: Buffer) => relay.fromClient(true, c));
    socket.on('close', () => relay.end('client closed the connection', 1000, true));
    socket.on('error', () => socket.destroy());
  });
}

/** exec/attach for a SPDY client: 101 SPDY/3.1, the session read frame by frame into the same relay. */
function relaySpdyExec(sc: StreamContext, socket: Duplex, head: Buffer, upSocket: Duplex, upHead: Buffer, display: string): Promise<void> {
  const { session } = sc.ctx;
  const sr = sc.sr;
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${SPDY_REMOTE_COMMAND}\r\n\r\n`);
  return new Promise<void>((resolve) => {
    let exec: ExecStream | undefined;
    const bridge = new SpdyExecBridge(socket, upSocket, (message) => {
      session.record({ type: 'error', kind: 'protocol', code: 'stream-protocol', command: sc.command.id, message });
      exec?.end(message, 1002);
    });
    // v5's close signal is how the bridge says "stdin ended" (a FIN on the stdin stream).
    let untrack: () => void = () => undefined;
    exec = new ExecStream(bridge.clientPeer, { session, command: sc.command.id, channel: 0, protocol: 'v5.channel.k8s.io', stdin: sr.stdin, stdout: sr.stdout, stderr: sr.stderr, tty: sr.tty, kind: sr.kind as 'exec' | 'attach', display, argv: sr.command, onEnd: () => {
      untrack();
      bridge.close();
      resolve();
    } });
    const e = exec;
    untrack = sc.ctx.track((reason) => e.end(`the session ended: ${reason}`));
    exec.attach(bridge.targetPeer);
    bridge.start(exec, head, upHead);
    upSocket.on('close', () => exec.end('closed by the API server'));
    upSocket.on('error', () => upSocket.destroy());
    socket.on('close', () => {
      exec.end('client closed the connection', 1000, true);
      upSocket.destroy();
    });
    socket.on('error', () => socket.destroy());
  });
}

function attachUpstream(sc: StreamContext, r: Relay, socket: Duplex, head: Buffer, clientSocket: Duplex): void {
  const { session } = sc.ctx;
  const upstream = new WsConnection(socket, 'client', {
    message: (binary, data) => r.fromUpstream(binary, data),
    close: (code) => r.end(`closed by the API server (${code})`, code === 1005 || code === 1006 ? 1000 : code),
    error: (e) => session.record({ type: 'error', kind: 'target', code: 'websocket', command: sc.command.id, message: e.message }),
  }, MAX_MESSAGE_BYTES, head);
  clientSocket.once('close', () => upstream.destroy());
  if (clientSocket.destroyed) upstream.destroy();
  r.attach(upstream);
}

function readCapped(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < max) chunks.push(c.subarray(0, max - size));
      size += c.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
