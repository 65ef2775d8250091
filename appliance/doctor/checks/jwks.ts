/**
 * Every identity provider's keys load now: a JWKS file is read and parsed; a JWKS URL is fetched (with its
 * CA) — so a provider whose keys cannot be had is found before a token is refused for it. A JWKS file's age
 * is shown: a provider that rotated its keys since it was copied will refuse new tokens.
 */
import { statSync } from 'node:fs';
import { describeError } from '../../../shared/errors.ts';
import { JwtVerifierRegistry } from '../../identity/index.ts';
import { needConfig, isResult, type DoctorCheck, type DoctorResult } from '../check.ts';

export const jwksCheck: DoctorCheck = {
  id: 'jwks',
  title: 'every JWKS is fresh',
  async run(ctx) {
    const loaded = needConfig(ctx, 'jwks');
    if (isResult(loaded)) return [loaded];
    const out: DoctorResult[] = [];
    if (!loaded.config.identityProviders.length) out.push({ check: 'jwks', status: 'pass', detail: 'no identity providers configured (no client can authenticate with a token)' });
    for (const p of loaded.config.identityProviders) {
      const one = new JwtVerifierRegistry([p], { fingerprintKey: new Uint8Array(32), resolvePath: loaded.resolvePath });
      const failed = await one.warmUp();
      const src = p.jwks;
      if (failed.length) {
        out.push({ check: 'jwks', subject: p.name, status: 'fail', detail: `${p.name}: ${describeError(failed[0]!.error)}`, fix: src.kind === 'file' ? `copy the provider's current JWKS to ${src.file}` : `check that ${src.url} is reachable from the appliance (and jwks.ca)` });
        continue;
      }
      if (src.kind === 'file') {
        const days = (ctx.now().getTime() - statSync(loaded.resolvePath(src.file)).mtimeMs) / 86_400_000;
        out.push({ check: 'jwks', subject: p.name, status: 'pass', detail: `${p.name}: ${src.file} loads (copied ${days.toFixed(0)} day(s) ago; refresh it when the provider rotates keys)` });
      } else out.push({ check: 'jwks', subject: p.name, status: 'pass', detail: `${p.name}: ${src.url} fetched and parsed now` });
    }
    return out;
  },
};
