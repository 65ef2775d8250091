/**
 * GitHub Actions OIDC tokens (issuer https://token.actions.githubusercontent.com).
 *
 * Subject: `sub` by default, e.g. repo:acme/payments:ref:refs/heads/main, repo:acme/payments:environment:production
 * or, for repositories with immutable subjects, repo:acme@123/payments@456:ref:refs/heads/main. Its format
 * depends on the job and on the org's OIDC customisation, so groups are not parsed out of it; they come
 * from dedicated claims instead:
 *   repository        acme/Payments  →  repo:acme/payments
 *   repository_owner  acme           →  org:acme
 *   environment       Production     →  env:production   (only when the job names an environment)
 * Lowercased: GitHub treats owner, repository and environment names case-insensitively, so a policy for
 * `repo:acme/payments` must not depend on how a name happens to be capitalised.
 * Names can be reused after an org or repository is deleted; the summary keeps repository_id and
 * repository_owner_id so auditors can tell.
 */
import { ClaimProblem, identityText, optionalText, summarizeClaims } from '../claims.ts';
import type { Profile } from './profile.ts';

/** The non-secret claims GitHub documents (docs: actions/reference/security/oidc). */
export const GITHUB_SUMMARY_CLAIMS = [
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'ref',
  'ref_type',
  'sha',
  'base_ref',
  'head_ref',
  'environment',
  'event_name',
  'workflow',
  'workflow_ref',
  'workflow_sha',
  'job_workflow_ref',
  'job_workflow_sha',
  'run_id',
  'run_number',
  'run_attempt',
  'runner_environment',
  'actor',
  'actor_id',
  'enterprise',
  'enterprise_id',
] as const;

export const githubActions: Profile = (payload, provider) => {
  const subject = identityText(payload[provider.subjectClaim], provider.subjectClaim);
  const repository = identityText(payload['repository'], 'repository').toLowerCase();
  const owner = identityText(payload['repository_owner'], 'repository_owner').toLowerCase();
  if (!repository.startsWith(`${owner}/`)) throw new ClaimProblem('repository', 'is not a repository of repository_owner');
  const environment = optionalText(payload, 'environment')?.toLowerCase();
  const groups = [`repo:${repository}`, `org:${owner}`];
  if (environment) groups.push(`env:${environment}`);
  return { subject, groups, claims: summarizeClaims(payload, [...GITHUB_SUMMARY_CLAIMS, ...provider.summaryClaims]) };
};
