/** A profile turns a verified payload into subject, profile-derived groups and the audit summary. */
import type { JWTPayload } from 'jose';
import type { IdentityProviderConfig } from '../config.ts';
import type { ClaimValue } from '../verified-identity.ts';

export interface ProfileResult {
  subject: string;
  groups: string[];
  claims: Record<string, ClaimValue>;
}

/** Throws ClaimProblem (claims.ts) when the payload lacks what the profile needs. */
export type Profile = (payload: JWTPayload, provider: IdentityProviderConfig) => ProfileResult;
