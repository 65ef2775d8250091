/**
 * One Kubernetes API request through the gateway, after the connection proved its identity and was
 * granted the target (connection.ts): read the body (bounded), work out what the request is
 * (request-info.ts, facts.ts), record it and the decision and make both durable (record, then forward),
 * refuse it (403 Status naming the rule), hold it for approval, or send it to the API server as Vigil
 * impersonating the caller — then pass the response back masked (response-masker.ts) and record it.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { describeError } from '../../../shared/errors.ts';
import { maskEvidenceText } from '../../../shared/pan/index.ts';
import { MaskCounter } from '../../pipeline/masking.ts';
import type { PipelineSession } from '../../pipeline/session.ts';
import { IDLE_RELEASE_MS, StreamMasker } from '../../pipeline/stream-masker.ts';
import type { KubernetesListenerConfig } from './config.ts';
import { classOf, kubeFacts, readsSecrets } from './facts.ts';
import { kubernetesPolicyOf } from './policy-config.ts';
import { requestInfo, RequestInfoError, type RequestInfo } from './request-info.ts';
import { Base64FieldError, maskBase64Runs, newTally } from './base64-masker.ts';
import { bodyKind, JsonObjectSplitter, maskJson, type MaskContext } from './response-masker.ts';
import { sendStatus, warning } from './status.ts';
import type { KubeUpstream } from './upstream.ts';

/** Client headers passed on to the API server; everything else (Authorization, Impersonate-*, X-Remote-*, cookies) is dropped. */
const FORWARDED_HEADERS = ['accept', 'content-type', 'user-agent', 'kubectl-command', 'kubectl-session', 'if-none-match', 'if-match', 'if-modified-since'];
/** Client headers the evidence keeps. */
export const RECORDED_HEADERS = ['accept', 'content-type', 'user-agent', 'kubectl-command', 'kubectl-session'];
/** API server headers passed back. */
const RESPONSE_HEADERS = ['content-type', 'audit-id', 'warning', 'cache-control', 'etag', 'last-modified', 'expires', 'vary', 'retry-after', 'x-kubernetes-pf-flowschema-uid', 'x-kubernetes-pf-prioritylevel-uid'];

export interface ExchangeContext {
  session: PipelineSession;
  upstream: KubeUpstream;
  listener: KubernetesListenerConfig;
  /** Who the API server is told the caller is. */
  impersonation: { user: string; groups: string[] };
  logger: { warn(o: object, msg: string): void; info(o: object, msg: string): void };
  /** Ends the client connection (after a recording failure: fail closed). */
  abort(reason: string): void;
  /**
   * A stream (exec, attach, port-forward) running on this connection: ended — and its end recorded — before
   * the session closes (credential expiry, limits), not after. Returns the function that forgets it.
   */
  track(end: (reason: string) => void): () => void;
}

/** Reads the request body up to `max` bytes; undefined when it is larger, null when the client went away first. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('close', () => {
      if (!req.complete) resolve(null);
    });
    req.on('error', reject);
  });
}

/** Accept without protobuf (which Vigil cannot inspect): JSON then, as every Kubernetes client accepts. */
export function jsonAccept(accept: string | undefined): string {
  const kept = (accept ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !/protobuf/i.test(s));
  return kept.length > 0 ? kept.join(',') : 'application/json';
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export async function runExchange(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, path: string, search: string): Promise<void> {
  const { session } = ctx;
  const method = (req.method ?? 'GET').toUpperCase();
  const body = await readBody(req, ctx.listener.maxRequestBodyBytes);
  if (body === null) return;
  if (body === undefined) return sendStatus(res, 413, `the request body is larger than ${ctx.listener.maxRequestBodyBytes} bytes (listeners.kubernetes.maxRequestBodyBytes)`);

  let info: RequestInfo;
  let refusal: { rule: string; reason: string } | undefined;
  const query = new URLSearchParams(search);
  try {
    info = requestInfo(method, path, query);
  } catch (e) {
    if (!(e instanceof RequestInfoError)) throw e;
    info = { isResourceRequest: false, path, verb: method.toLowerCase(), apiPrefix: '', apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '', parts: [] };
    refusal = { rule: 'vigil/request', reason: `Vigil cannot tell what this request is: ${e.message}` };
  }
  const facts = kubeFacts(info);
  const policy = kubernetesPolicyOf(session.policy?.config);
  const secretRead = readsSecrets(info);
  if (!refusal && secretRead && policy.secrets.read === 'block' && !revealsAll(policy.secrets.reveal, info)) {
    refusal = { rule: `${session.policy?.name ?? 'vigil'}/kubernetes.secrets`, reason: `reading secrets is not allowed for this identity on this target (policies[].kubernetes.secrets.read)` };
  }
  // Exec, attach and port-forward are streams (upgrade.ts): without an upgrade there is nothing to relay.
  // The proxy verb and subresources are not forwarded in this version.
  if (!refusal && facts.class === 'interactive') {
    refusal = info.verb !== 'proxy' && info.subresource !== 'proxy'
      ? { rule: 'vigil/upgrade-required', reason: `${info.subresource} is relayed only as a WebSocket stream (an Upgrade request)` }
      : { rule: 'vigil/not-yet', reason: 'proxy is not supported by this Vigil version yet' };
  }

  const target = `${path}${search ? `?${search}` : ''}`;
  const text = session.masks.evidence(`${method} ${target}`);
  const recordedHeaders = Object.fromEntries(RECORDED_HEADERS.flatMap((h) => {
    const v = header(req, h);
    return v === undefined ? [] : [[h, session.masks.evidence(v)]];
  }));
  const recordedBody = recordableRequestBody(session, info, body, ctx.listener.maxRecordedBodyBytes);
  const d = session.decide({
    kind: 'k8s',
    text,
    facts: [facts],
    fields: { method, path: session.masks.evidence(path), ...(search ? { query: session.masks.evidence(search) } : {}), headers: recordedHeaders, ...recordedBody },
    extra: { request: requestFields(info) },
    ...(refusal ? { refusal } : {}),
  });
  session.recordMasking(d.id);
  const decision = d.decision;
  if (decision.action === 'allow' && provablyRead(method, info, body)) {
    // A read changes nothing on the API server: it is sent while its record is being committed, and no
    // byte of the answer reaches the client before the record is durable (the gate in forward()). The
    // commit (whose frame is sealed on this thread) starts once the request is on its way (the socket
    // write is a next-tick, before any immediate).
    const durable = new Promise<void>((r) => setImmediate(r))
      .then(() => session.commit())
      .then(
        () => true,
        (e: unknown) => {
          recordingFailed(ctx, res, e, 'Vigil did not pass on its answer');
          return false;
        },
      );
    return forward(ctx, req, res, method, target, body, info, d.id, [], secretRead, () => durable);
  }
  try {
    await session.commit();
  } catch (e) {
    recordingFailed(ctx, res, e, 'Vigil did not forward it');
    return;
  }
  if (decision.action === 'block') {
    return sendStatus(res, 403, `${info.verb} ${describeObject(info)} is forbidden by Vigil policy (rule ${decision.rule}): ${maskEvidenceText(decision.reason).text}`);
  }
  const warnings: string[] = [];
  if (decision.action === 'require-approval') {
    const outcome = await session.hold(
      d,
      { display: text, exactBytes: Buffer.concat([Buffer.from(`${method} ${target}\n`), body]), classification: [{ class: facts.class, command: facts.command, tags: facts.tags, tables: facts.objects }] },
      (held) => ctx.logger.info({ sessionId: session.id, requestId: held.requestId, rule: decision.rule }, 'Kubernetes request held for approval'),
    );
    if (!outcome.approved) {
      const why = outcome.kind === 'expired' ? 'the approval request expired' : `not approved: ${maskEvidenceText(outcome.reason).text}`;
      return sendStatus(res, 403, `${info.verb} ${describeObject(info)} needs approval (rule ${decision.rule}, request ${outcome.requestId ?? 'none'}): ${why}`);
    }
    if (res.destroyed || req.destroyed && !req.complete) return;
    warnings.push(warning(`vigil: this request was held for approval (rule ${decision.rule}, request ${outcome.requestId}) and approved by ${outcome.approvers.join(', ')}`));
  }
  await forward(ctx, req, res, method, target, body, info, d.id, warnings, secretRead, DURABLE_ALREADY);
}

const DURABLE_ALREADY = () => Promise.resolve(true);

/** Fail closed: the request's record could not be made durable, so the client gets nothing of its answer and the session ends. */
function recordingFailed(ctx: ExchangeContext, res: ServerResponse, e: unknown, what: string): void {
  ctx.logger.warn({ sessionId: ctx.session.id, err: describeError(e) }, 'recording failed; ending the Kubernetes session');
  if (!res.headersSent && !res.destroyed) sendStatus(res, 503, `the request could not be recorded; ${what}`);
  ctx.abort('recording failed');
}

/**
 * Whether the gateway can prove the request has no side effect on the API server, so that it may be sent
 * before its record is durable: a GET without a body whose verb is get, list or watch (a non-resource GET:
 * discovery, /version, OpenAPI) — never proxy, exec, attach or port-forward (class interactive), which
 * reach a kubelet or a pod. Everything else (and anything Vigil could not read) waits for the commit.
 */
export function provablyRead(method: string, info: RequestInfo, body: Buffer): boolean {
  if (method !== 'GET' || body.length > 0 || classOf(info) !== 'read') return false;
  return info.isResourceRequest ? info.verb === 'get' || info.verb === 'list' || info.verb === 'watch' : info.verb === 'get';
}

/** Whether the reveal list names the one secret a get asks for (so a get of it is not refused). */
function revealsAll(reveal: readonly string[], info: RequestInfo): boolean {
  if (!info.name || info.verb !== 'get') return false;
  const id = `${info.namespace}/${info.name}`;
  return reveal.some((p) => p === id);
}

export function describeObject(info: RequestInfo): string {
  if (!info.isResourceRequest) return info.path;
  const res = `${info.resource}${info.apiGroup ? `.${info.apiGroup}` : ''}${info.subresource ? `/${info.subresource}` : ''}`;
  return `${res}${info.name ? ` "${info.name}"` : ''}${info.namespace ? ` in namespace "${info.namespace}"` : ''}`;
}

export function requestFields(info: RequestInfo): Record<string, unknown> {
  if (!info.isResourceRequest) return { nonResource: true, verb: info.verb, path: info.path };
  return { verb: info.verb, group: info.apiGroup, version: info.apiVersion, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name };
}

/**
 * The request body as the evidence keeps it: masked text, capped. A body for Secrets holds their values
 * in whatever shape (a create, a JSON patch, an apply), so it is never recorded, only its size.
 */
function recordableRequestBody(session: PipelineSession, info: RequestInfo, body: Buffer, max: number): Record<string, unknown> {
  if (body.length === 0) return {};
  if (info.resource === 'secrets' || info.resource === 'serviceaccounts' && info.subresource === 'token') return { bodyBytes: body.length, bodyOmitted: 'secret values' };
  // Base64 in the body (a ConfigMap's binaryData) is decoded and scanned too: no card number reaches the archive encoded.
  const tally = newTally();
  const masked = session.masks.evidence(maskBase64Runs(body.toString('utf8'), session.masks, tally));
  return { bodyBytes: body.length, body: masked.length > max ? masked.slice(0, max) : masked, ...(masked.length > max ? { bodyTruncated: true } : {}), ...(tally.decoded ? { bodyBase64: tally } : {}) };
}

/**
 * Sends the request and passes the answer back masked. `durable` resolves true once the request's record is
 * durable (false: recording failed, the client was told and the session ended): every path awaits it before
 * it writes a byte to the client.
 */
async function forward(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, method: string, target: string, body: Buffer, info: RequestInfo, command: number, warnings: string[], secretRead: boolean, durable: () => Promise<boolean>): Promise<void> {
  const { session } = ctx;
  const headers: OutgoingHttpHeaders = {};
  for (const h of FORWARDED_HEADERS) {
    const v = req.headers[h];
    if (v !== undefined) headers[h] = v;
  }
  headers['accept'] = jsonAccept(header(req, 'accept'));
  headers['accept-encoding'] = 'identity';
  headers['impersonate-user'] = ctx.impersonation.user;
  if (ctx.impersonation.groups.length > 0) headers['impersonate-group'] = ctx.impersonation.groups;

  const started = Date.now();
  const abort = new AbortController();
  const watch = info.verb === 'watch';
  // The client going away before its answer is complete ends the upstream request too.
  const onClientGone = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClientGone);
  const timer = watch ? undefined : setTimeout(() => abort.abort(), ctx.listener.upstreamTimeoutMs);
  let up;
  try {
    up = await ctx.upstream.send(method, target, headers, body, abort.signal);
  } catch (e) {
    clearTimeout(timer);
    if (!(await durable()) || res.destroyed) return;
    const message = describeError(e);
    session.record({ type: 'error', kind: 'target', code: 'upstream-failed', command, message });
    ctx.logger.warn({ sessionId: session.id, err: message }, 'Kubernetes API server request failed');
    return sendStatus(res, abort.signal.aborted ? 504 : 502, abort.signal.aborted ? 'the Kubernetes API server did not answer in time' : 'Vigil could not reach the Kubernetes API server (recorded)');
  }
  const status = up.statusCode ?? 502;
  if (status === 401 || status === 200 && (watch || info.subresource === 'log')) {
    // No body is read before these answers start (or they are refused): the record must be durable first.
    if (!(await durable())) {
      clearTimeout(timer);
      up.destroy();
      return;
    }
  }
  const policy = kubernetesPolicyOf(session.policy?.config);
  const mctx: MaskContext = { masks: session.masks, reveal: policy.secrets.reveal, secretsRequest: info.resource === 'secrets' && info.apiGroup === '', configMapsRequest: info.resource === 'configmaps' && info.apiGroup === '', base64: newTally() };
  const out: Record<string, string | string[]> = {};
  for (const h of RESPONSE_HEADERS) {
    const v = up.headers[h];
    if (v !== undefined) out[h] = typeof v === 'string' ? session.masks.strict(v) : v.map((x) => session.masks.strict(x));
  }
  if (warnings.length) out['warning'] = [...warnings, ...(Array.isArray(out['warning']) ? out['warning'] : out['warning'] ? [out['warning']] : [])];
  if (status === 401) {
    // The API server refused Vigil's own credential: the caller's token was fine, so not a 401 to it.
    up.resume();
    clearTimeout(timer);
    session.record({ type: 'error', kind: 'target', code: 'target-credential-refused', command, message: 'the API server refused Vigil\'s credential (401)' });
    return sendStatus(res, 502, 'the Kubernetes API server refused Vigil\'s credential for this target (recorded)');
  }
  if (watch && status === 200) {
    clearTimeout(timer);
    return relayWatch(ctx, up, res, out, status, command, mctx, started);
  }
  const logStream = info.resource === 'pods' && info.subresource === 'log' && info.apiGroup === '' && status === 200 && bodyKind(header(up, 'content-type'), 1) === 'text';
  if (logStream) {
    clearTimeout(timer);
    return relayLog(ctx, up, res, out, status, command, started);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  try {
    await new Promise<void>((resolve, reject) => {
      up.on('data', (c: Buffer) => {
        size += c.length;
        if (size > ctx.listener.maxResponseBodyBytes) {
          tooBig = true;
          up.destroy();
          resolve();
        } else chunks.push(c);
      });
      up.on('end', resolve);
      up.on('error', reject);
      up.on('aborted', () => reject(new Error('the API server response was cut off')));
    });
  } catch (e) {
    clearTimeout(timer);
    if (!(await durable())) return;
    session.record({ type: 'error', kind: 'target', code: 'upstream-failed', command, message: describeError(e) });
    return sendStatus(res, 502, 'the Kubernetes API server response was cut off (recorded)');
  }
  clearTimeout(timer);
  if (!(await durable())) return;
  if (tooBig) {
    session.record({ type: 'error', kind: 'target', code: 'response-too-large', command, message: `the response exceeds ${ctx.listener.maxResponseBodyBytes} bytes; not forwarded` });
    return sendStatus(res, 502, `the API server's response is larger than Vigil inspects (listeners.kubernetes.maxResponseBodyBytes); not forwarded`);
  }
  const raw = Buffer.concat(chunks);
  const kind = bodyKind(header(up as IncomingMessage, 'content-type'), raw.length);
  let outBody: Buffer;
  if (kind === 'empty') outBody = raw;
  else if (kind === 'text') outBody = Buffer.from(session.masks.strict(raw.toString('utf8')));
  else if (kind === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      session.record({ type: 'error', kind: 'masking', code: 'unparseable-body', command, message: 'the JSON response could not be parsed for masking; not forwarded' });
      session.recordMasking(command);
      return sendStatus(res, 502, 'the API server\'s response could not be inspected for card data; Vigil did not forward it');
    }
    try {
      const before = session.masks.total;
      const masked = maskJson(parsed, mctx);
      // Nothing masked or redacted: the API server's own bytes go on (parsed and scanned all the same, so
      // fail closed holds), without serialising them again.
      outBody = session.masks.total === before && !mctx.revealed ? raw : Buffer.from(JSON.stringify(masked));
    } catch (e) {
      if (!(e instanceof Base64FieldError)) throw e;
      session.record({ type: 'error', kind: 'masking', code: 'undecodable-base64', command, message: `${e.message}; not forwarded` });
      session.recordMasking(command);
      return sendStatus(res, 502, 'the API server\'s response holds base64 that Vigil cannot decode to inspect for card data; Vigil did not forward it');
    }
  } else {
    session.record({ type: 'error', kind: 'masking', code: 'uninspectable-body', command, message: `a ${String(up.headers['content-type'])} response cannot be inspected for card data; not forwarded` });
    return sendStatus(res, 502, `the API server answered with ${String(up.headers['content-type'])}, which Vigil cannot inspect for card data; not forwarded`);
  }
  const recorded = kind === 'json' ? evidenceJson(outBody.toString('utf8'), mctx) : outBody.toString('utf8');
  const omit = info.resource === 'serviceaccounts' && info.subresource === 'token' ? 'a service-account token' : undefined;
  session.record({ type: 'result', command, status, ...(secretRead ? { secretsRedacted: true } : {}), ...base64Field(mctx), ...resultBody(session, up.headers['content-type'], outBody.length, recorded, ctx.listener.maxRecordedBodyBytes, omit), durationMs: Date.now() - started });
  session.recordMasking(command);
  if (res.destroyed) return;
  res.writeHead(status, { ...out, 'content-length': outBody.length });
  res.end(outBody);
}

/** What base64 was decoded and masked for the client (recorded with the result or watch event), when any was. */
function base64Field(mctx: MaskContext): Record<string, unknown> {
  const t = mctx.base64;
  if (!t || t.decoded === 0) return {};
  const out = { base64: { decoded: t.decoded, masked: t.masked } };
  t.decoded = t.masked = 0;
  return out;
}

/**
 * The response body as the evidence keeps it: masked, capped, and never a credential — a TokenRequest's
 * token is omitted, and Secrets policy reveals to the client are still redacted here.
 */
function resultBody(session: PipelineSession, contentType: string | undefined, bytes: number, body: string, max: number, omit?: string): Record<string, unknown> {
  const base = { ...(contentType ? { contentType } : {}), bytes };
  if (omit) return { ...base, bodyOmitted: omit };
  const text = session.masks.evidence(body);
  return { ...base, body: text.length > max ? text.slice(0, max) : text, ...(text.length > max ? { bodyTruncated: true } : {}) };
}

/** What was sent (masked JSON text), with every Secret redacted even where policy revealed it to the client. */
function evidenceJson(sent: string, mctx: MaskContext): string {
  if (mctx.reveal.length === 0 || !mctx.revealed) return sent;
  mctx.revealed = false;
  return JSON.stringify(maskJson(JSON.parse(sent), { masks: new MaskCounter(), reveal: [], secretsRequest: mctx.secretsRequest }));
}

/**
 * A pod's log (`kubectl logs`, `logs -f`): streamed as it comes, through the streaming masker (a card number
 * split across chunks is still masked whole), each released piece recorded as `output` of the request.
 */
function relayLog(ctx: ExchangeContext, up: IncomingMessage, res: ServerResponse, headers: Record<string, string | string[]>, status: number, command: number, started: number): Promise<void> {
  const { session } = ctx;
  const masker = new StreamMasker((b, context) => session.masks.streamBytes(b, context));
  let bytes = 0;
  let ended = false;
  let idle: NodeJS.Timeout | undefined;
  res.writeHead(status, { ...headers, 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const send = (masked: Buffer) => {
    if (masked.length === 0 || res.destroyed) return;
    bytes += masked.length;
    session.record({ type: 'output', command, stream: 'log', data: masked });
    if (!res.write(masked)) {
      up.pause();
      res.once('drain', () => up.resume());
    }
  };
  return new Promise<void>((resolve) => {
    const end = (reason: string, failed: boolean) => {
      if (ended) return;
      ended = true;
      clearTimeout(idle);
      if (!failed) send(masker.end());
      session.record({ type: 'result', command, status, stream: 'log', bytes, end: reason, durationMs: Date.now() - started });
      session.recordMasking(command);
      if (failed) res.destroy();
      else res.end();
      up.destroy();
      resolve();
    };
    up.on('data', (chunk: Buffer) => {
      clearTimeout(idle);
      send(masker.push(chunk));
      if (masker.holding) idle = setTimeout(() => send(masker.releaseIdle()), IDLE_RELEASE_MS);
    });
    up.on('end', () => end('ended by the API server', false));
    up.on('error', () => end('API server connection failed', true));
    // The client went away: what is still held (possibly half a card number) is dropped, not sent.
    res.on('close', () => end('client went away', true));
  });
}

/** A watch: each event parsed, masked and passed on whole (a card number split across chunks is still one string), and recorded. */
function relayWatch(ctx: ExchangeContext, up: IncomingMessage, res: ServerResponse, headers: Record<string, string | string[]>, status: number, command: number, mctx: MaskContext, started: number): Promise<void> {
  const { session } = ctx;
  const splitter = new JsonObjectSplitter(ctx.listener.maxWatchEventBytes);
  let events = 0;
  let ended = false;
  res.writeHead(status, { ...headers, 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  return new Promise<void>((resolve) => {
    const end = (reason: string, failed: boolean) => {
      if (ended) return;
      ended = true;
      session.record({ type: 'result', command, status, watch: true, events, end: reason, durationMs: Date.now() - started });
      session.recordMasking(command);
      if (failed) res.destroy();
      else res.end();
      up.destroy();
      resolve();
    };
    up.on('data', (chunk: Buffer) => {
      let objects: Buffer[];
      try {
        objects = splitter.push(chunk);
      } catch (e) {
        session.record({ type: 'error', kind: 'masking', code: 'unparseable-watch-event', command, message: `${describeError(e)}; the watch was ended` });
        return end('unparseable event', true);
      }
      for (const o of objects) {
        let event: { type?: unknown; object?: unknown };
        try {
          event = JSON.parse(o.toString('utf8')) as typeof event;
        } catch {
          session.record({ type: 'error', kind: 'masking', code: 'unparseable-watch-event', command, message: 'a watch event could not be parsed for masking; the watch was ended' });
          return end('unparseable event', true);
        }
        let masked: string;
        try {
          masked = JSON.stringify(maskJson(event, mctx));
        } catch (e) {
          if (!(e instanceof Base64FieldError)) throw e;
          session.record({ type: 'error', kind: 'masking', code: 'undecodable-base64', command, message: `${e.message}; the watch was ended` });
          return end('undecodable base64', true);
        }
        const recorded = evidenceJson(masked, mctx);
        events++;
        const meta = (event.object as { metadata?: { namespace?: string; name?: string; resourceVersion?: string } } | undefined)?.metadata;
        const text = session.masks.evidence(recorded);
        session.record({
          type: 'notice',
          kind: 'watch-event',
          command,
          event: typeof event.type === 'string' ? event.type : '?',
          ...(meta?.name ? { object: session.masks.evidence(`${meta.namespace ?? ''}/${meta.name}`) } : {}),
          ...(meta?.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
          ...base64Field(mctx),
          body: text.length > ctx.listener.maxRecordedBodyBytes ? text.slice(0, ctx.listener.maxRecordedBodyBytes) : text,
        });
        session.recordMasking(command);
        res.write(`${masked}\n`);
      }
    });
    up.on('end', () => end(splitter.partial ? 'cut off' : 'ended by the API server', splitter.partial));
    up.on('error', () => end('API server connection failed', true));
    res.on('close', () => end('client went away', false));
  });
}
