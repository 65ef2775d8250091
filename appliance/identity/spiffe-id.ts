/**
 * SPIFFE IDs (spiffe://trust-domain/path), parsed strictly as the SPIFFE ID standard defines them, and the
 * groups Vigil derives from one. Strict on purpose: `spiffe://Acme.test/a/../b` must not be an alias of
 * another workload's ID.
 *
 * Groups for spiffe://acme.test/ns/prod/sa/payments:
 *   trust-domain:acme.test
 *   spiffe://acme.test/ns/                 every proper path prefix, ending in '/': "anything under"
 *   spiffe://acme.test/ns/prod/
 *   spiffe://acme.test/ns/prod/sa/
 * The full ID itself is the subject, not a group. A prefix group ends in '/', which no SPIFFE ID does, so
 * a group can never be mistaken for an identity.
 */

export interface SpiffeId {
  /** The whole ID, as presented (already canonical when it parses). */
  id: string;
  trustDomain: string;
  /** Path segments, possibly none. */
  segments: string[];
}

const MAX_ID = 2_048;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** The parsed ID, or a reason it is not one. */
export function parseSpiffeId(s: string): SpiffeId | { error: string } {
  if (s.length > MAX_ID) return { error: `longer than ${MAX_ID} bytes` };
  if (!s.startsWith('spiffe://')) return { error: 'does not start with spiffe://' };
  const rest = s.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return { error: 'has a trust domain that is not lowercase letters, digits, . _ -' };
  const segments = slash < 0 ? [] : rest.slice(slash + 1).split('/');
  for (const seg of segments) {
    if (seg === '') return { error: 'has an empty path segment or a trailing /' };
    if (seg === '.' || seg === '..') return { error: 'has a . or .. path segment' };
    if (!SEGMENT.test(seg)) return { error: 'has a path character outside letters, digits, . _ -' };
  }
  return { id: s, trustDomain, segments };
}

export function isSpiffeId(v: SpiffeId | { error: string }): v is SpiffeId {
  return !('error' in v);
}

export function spiffeGroups(id: SpiffeId): string[] {
  const groups = [`trust-domain:${id.trustDomain}`];
  let prefix = `spiffe://${id.trustDomain}/`;
  for (let i = 0; i < id.segments.length - 1; i++) {
    prefix += `${id.segments[i]}/`;
    groups.push(prefix);
  }
  return groups;
}
