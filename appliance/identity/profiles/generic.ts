/**
 * Any OIDC issuer: the subject is `subjectClaim` (default sub); groups come only from `groupsClaim`
 * (default groups; an array, or a space/comma separated string), which the verifier adds for every
 * profile. The summary holds only the claims listed in `summaryClaims`.
 */
import { identityText, summarizeClaims } from '../claims.ts';
import type { Profile } from './profile.ts';

export const generic: Profile = (payload, provider) => ({
  subject: identityText(payload[provider.subjectClaim], provider.subjectClaim),
  groups: [],
  claims: summarizeClaims(payload, provider.summaryClaims),
});
