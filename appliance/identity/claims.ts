/**
 * Reading claims out of a verified JWT payload: identity strings, group lists and the audit summary.
 * Even verified claims are issuer-controlled text that ends up in logs and policy matching, so every
 * value is bounded and control characters are refused.
 */
import type { JWTPayload } from 'jose';
import { SECRET_CLAIM_NAME } from './config.ts';
import type { ClaimValue } from './verified-identity.ts';

const MAX_IDENTITY = 1_024;
const MAX_GROUP = 256;
const MAX_GROUPS = 256;
const MAX_SUMMARY_STRING = 256;
const MAX_SUMMARY_ITEMS = 32;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** A compact JWS/JWE anywhere in a value: a token nested in a claim must not reach the summary. */
const JWT_LIKE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

/** Why a claim could not be used, for the caller's typed error. */
export class ClaimProblem extends Error {
  constructor(
    readonly claim: string,
    readonly problem: string,
  ) {
    super(`${claim} ${problem}`);
  }
}

/** A usable identity string: non-empty, at most 1 KiB, no control characters. */
export function identityText(value: unknown, claim: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ClaimProblem(claim, value === undefined ? 'is missing' : 'must be a non-empty string');
  if (value.length > MAX_IDENTITY) throw new ClaimProblem(claim, `is longer than ${MAX_IDENTITY} characters`);
  if (CONTROL.test(value)) throw new ClaimProblem(claim, 'contains control characters');
  return value;
}

/** Like identityText, but absent is fine. */
export function optionalText(payload: JWTPayload, claim: string): string | undefined {
  return payload[claim] === undefined ? undefined : identityText(payload[claim], claim);
}

/**
 * Groups from a claim: an array of strings, or one string separated by spaces and/or commas (as
 * `scope`-style claims are). Absent means none; anything else is refused rather than guessed at.
 */
export function groupsFromClaim(payload: JWTPayload, claim: string): string[] {
  const v = payload[claim];
  if (v === undefined || v === null) return [];
  let items: unknown[];
  if (typeof v === 'string') items = v.split(/[\s,]+/);
  else if (Array.isArray(v)) items = v;
  else throw new ClaimProblem(claim, 'must be an array of strings or a space/comma separated string');
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') throw new ClaimProblem(claim, 'must contain only strings');
    const g = item.trim();
    if (g === '') continue;
    if (g.length > MAX_GROUP || CONTROL.test(g)) throw new ClaimProblem(claim, `holds a group longer than ${MAX_GROUP} characters or with control characters`);
    out.push(g);
  }
  if (out.length > MAX_GROUPS) throw new ClaimProblem(claim, `holds more than ${MAX_GROUPS} groups`);
  return out;
}

/** Order-preserving de-duplication. */
export function uniq(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * The audit summary: only the named claims, only plain values (strings, finite numbers, booleans, short
 * string arrays), never a claim whose name looks secret or whose value looks like a token.
 */
export function summarizeClaims(payload: JWTPayload, names: readonly string[]): Record<string, ClaimValue> {
  const out: Record<string, ClaimValue> = {};
  for (const name of names) {
    if (SECRET_CLAIM_NAME.test(name) || !Object.hasOwn(payload, name)) continue;
    const v = summaryValue(payload[name]);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function summaryValue(v: unknown): ClaimValue | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return safeString(v);
  if (Array.isArray(v) && v.length <= MAX_SUMMARY_ITEMS) {
    const items = v.map((x) => (typeof x === 'string' ? safeString(x) : undefined));
    return items.every((x) => x !== undefined) ? (items as string[]) : undefined;
  }
  return undefined;
}

function safeString(s: string): string | undefined {
  if (s.length > MAX_SUMMARY_STRING || CONTROL.test(s) || JWT_LIKE.test(s)) return undefined;
  return s;
}
