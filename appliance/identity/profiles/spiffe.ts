/**
 * SPIFFE JWT-SVIDs: `sub` is the workload's SPIFFE ID and is the subject; `aud` is required (the config
 * demands audiences for every provider). Groups come from the ID (see spiffe-id.ts): trust-domain:<td> and
 * each path prefix spiffe://<td>/a/, spiffe://<td>/a/b/, … The summary carries spiffe_id and trust_domain.
 * Vigil selects providers by `iss`, so SPIRE must be configured to set it (jwt_issuer).
 */
import { ClaimProblem, identityText, summarizeClaims } from '../claims.ts';
import { isSpiffeId, parseSpiffeId, spiffeGroups } from '../spiffe-id.ts';
import type { Profile } from './profile.ts';

export const spiffe: Profile = (payload, provider) => {
  const sub = identityText(payload.sub, 'sub');
  const id = parseSpiffeId(sub);
  if (!isSpiffeId(id)) throw new ClaimProblem('sub', `is not a SPIFFE ID: it ${id.error}`);
  return {
    subject: id.id,
    groups: spiffeGroups(id),
    claims: { spiffe_id: id.id, trust_domain: id.trustDomain, ...summarizeClaims(payload, provider.summaryClaims) },
  };
};
