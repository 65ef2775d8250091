/**
 * What a Kubernetes response may carry back to the client: every string (and key) of a JSON body through
 * the strict card-number scanner, and the values of Secrets redacted — a Secret object anywhere in the
 * body (a get, the items of a list, the rows of a Table, a watch event's object, a create's echo) has
 * every `data`/`stringData` value and its last-applied-configuration annotation replaced, unless policy
 * reveals that Secret by name. Base64 is decoded and scanned too (base64-masker.ts): ConfigMaps' `binaryData`
 * and a revealed Secret's `data` (declared base64, fail closed), and base64 runs in any string. Text bodies
 * are masked as text. Anything else is not passed on.
 */
import type { MaskCounter } from '../../pipeline/masking.ts';
import { REDACTED } from '../../pipeline/masking.ts';
import { globMatch } from '../../policy/glob.ts';
import { Base64FieldError, maskBase64Field, maskBase64Runs, newTally, type Base64Tally } from './base64-masker.ts';

/** base64("[REDACTED]"): a Secret's `data` values stay valid base64 for clients that decode them. */
export const REDACTED_BASE64 = Buffer.from(REDACTED).toString('base64');
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface MaskContext {
  masks: MaskCounter;
  /** `namespace/name` globs whose values are not redacted. */
  reveal: readonly string[];
  /** The request was for core secrets: `items` and Table `rows[].object` are Secrets even without a kind. */
  secretsRequest: boolean;
  /** The request was for core configmaps: `items` are ConfigMaps even without a kind (their `binaryData` is base64). */
  configMapsRequest?: boolean;
  /** Set when policy revealed a Secret to the client (the evidence then redacts it again); the reader clears it. */
  revealed?: boolean;
  /** Counts what base64 was decoded and masked (base64-masker.ts); a fresh tally when not given. */
  base64?: Base64Tally;
}

export type BodyKind = 'json' | 'text' | 'empty' | 'other';

export function bodyKind(contentType: string | undefined, length: number): BodyKind {
  if (length === 0) return 'empty';
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(t)) return 'json';
  if (t === 'text/plain') return 'text';
  return 'other';
}

/**
 * Masks a parsed JSON value in place and returns it. Throws Base64FieldError when a declared base64 value
 * (binaryData, a revealed Secret's data) does not decode: the caller must not forward the body.
 */
export function maskJson(value: unknown, ctx: MaskContext): unknown {
  const tally = (ctx.base64 ??= newTally());
  redactSecrets(value, ctx, true);
  maskBinaryData(value, ctx, tally, true);
  return maskStrings(value, ctx.masks, tally);
}

/** ConfigMaps' `binaryData` values (wherever a ConfigMap is: a get, list items, Table rows, watch objects): decoded, scanned, re-encoded. */
function maskBinaryData(v: unknown, ctx: MaskContext, tally: Base64Tally, top: boolean): void {
  if (Array.isArray(v)) {
    for (const x of v) maskBinaryData(x, ctx, tally, false);
    return;
  }
  if (!isObject(v)) return;
  const kind = v['kind'];
  const configMap = kind === 'ConfigMap' || (ctx.configMapsRequest === true && top && kind === undefined);
  if (configMap || kind === undefined && isObject(v['binaryData']) && isObject(v['metadata'])) maskBinaryField(v, tally, ctx);
  if ((ctx.configMapsRequest === true && top) || kind === 'ConfigMapList') {
    if (Array.isArray(v['items'])) for (const it of v['items']) if (isObject(it)) maskBinaryField(it, tally, ctx);
  }
  for (const [k, x] of Object.entries(v)) if (k !== 'binaryData') maskBinaryData(x, ctx, tally, false);
}

function maskBinaryField(o: Record<string, unknown>, tally: Base64Tally, ctx: MaskContext): void {
  const d = o['binaryData'];
  if (d === undefined || d === null) return;
  if (!isObject(d)) throw new Base64FieldError('binaryData');
  for (const [k, x] of Object.entries(d)) {
    if (typeof x !== 'string') throw new Base64FieldError('binaryData');
    d[k] = maskBase64Field(x, 'binaryData', ctx.masks, tally);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redactSecrets(v: unknown, ctx: MaskContext, top: boolean): void {
  if (Array.isArray(v)) {
    for (const x of v) redactSecrets(x, ctx, false);
    return;
  }
  if (!isObject(v)) return;
  const kind = v['kind'];
  if (kind === 'Secret' && (v['apiVersion'] === 'v1' || v['apiVersion'] === undefined)) redactSecret(v, ctx);
  else if (ctx.secretsRequest && top && kind !== 'Status' && kind !== 'Table' && kind !== 'WatchEvent' && (isObject(v['data']) || isObject(v['stringData']))) redactSecret(v, ctx);
  if (ctx.secretsRequest || kind === 'SecretList') {
    if (Array.isArray(v['items'])) for (const it of v['items']) if (isObject(it)) redactSecret(it, ctx);
    if (kind === 'Table' && Array.isArray(v['rows'])) for (const r of v['rows']) if (isObject(r) && isObject(r['object'])) redactSecret(r['object'], ctx);
  }
  for (const [k, x] of Object.entries(v)) if (k !== 'data' && k !== 'stringData') redactSecrets(x, ctx, false);
}

function redactSecret(o: Record<string, unknown>, ctx: MaskContext): void {
  const meta = isObject(o['metadata']) ? o['metadata'] : {};
  const id = `${typeof meta['namespace'] === 'string' ? meta['namespace'] : ''}/${typeof meta['name'] === 'string' ? meta['name'] : ''}`;
  if (ctx.reveal.some((p) => globMatch(p, id))) {
    ctx.revealed = true;
    // Revealed to the client, but not a way around card masking: its data values are decoded and scanned.
    const d = o['data'];
    if (isObject(d)) for (const [k, x] of Object.entries(d)) if (typeof x === 'string') d[k] = maskBase64Field(x, 'Secret data', ctx.masks, (ctx.base64 ??= newTally()));
    return;
  }
  for (const field of ['data', 'stringData'] as const) {
    const d = o[field];
    if (!isObject(d)) continue;
    for (const k of Object.keys(d)) {
      ctx.masks.redact();
      d[k] = field === 'data' ? REDACTED_BASE64 : REDACTED;
    }
  }
  const ann = isObject(meta['annotations']) ? meta['annotations'] : undefined;
  if (ann && typeof ann[LAST_APPLIED] === 'string') {
    ctx.masks.redact();
    ann[LAST_APPLIED] = REDACTED;
  }
}

function maskStrings(v: unknown, masks: MaskCounter, tally: Base64Tally): unknown {
  if (typeof v === 'string') return masks.strict(maskBase64Runs(v, masks, tally));
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = maskStrings(v[i], masks, tally);
    return v;
  }
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[masks.strict(maskBase64Runs(k, masks, tally))] = maskStrings(x, masks, tally);
  return out;
}

/**
 * Splits a stream of concatenated JSON values (a watch: one event object after another, newline or not)
 * into whole values, however the bytes were chunked. A value that is not an object, or one longer than
 * `maxBytes`, is an error: the caller ends the stream (fail closed).
 */
export class JsonObjectSplitter {
  private buf: Buffer[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxBytes: number) {}

  /** Whole objects completed by this chunk. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1;
          continue;
        }
        if (c !== 0x7b) throw new Error('a watch event is not a JSON object');
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          this.buf.push(chunk.subarray(start, i + 1));
          const whole = Buffer.concat(this.buf);
          if (whole.length > this.maxBytes) throw new Error(`a watch event is larger than ${this.maxBytes} bytes`);
          out.push(whole);
          this.buf = [];
          this.size = 0;
          start = i + 1;
        }
      }
    }
    if (this.depth > 0 && start < chunk.length) {
      const rest = chunk.subarray(start);
      this.size += rest.length;
      if (this.size > this.maxBytes) throw new Error(`a watch event is larger than ${this.maxBytes} bytes`);
      this.buf.push(rest);
    }
    return out;
  }

  /** Whether a value was cut off at the end of the stream. */
  get partial(): boolean {
    return this.depth > 0;
  }
}
