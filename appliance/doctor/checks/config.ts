/** vigil.yaml parses and validates (the same loader `vigil serve` and SIGHUP use). */
import type { DoctorCheck } from '../check.ts';

export const configCheck: DoctorCheck = {
  id: 'config',
  title: 'the configuration is valid',
  async run(ctx) {
    if ('error' in ctx.loaded) return [{ check: 'config', status: 'fail', detail: ctx.loaded.error, fix: `edit ${ctx.configPath} (docs/configuration.md), then run vigil doctor again` }];
    const c = ctx.loaded.config;
    const n = (x: unknown[]) => x.length;
    return [{ check: 'config', status: 'pass', detail: `${ctx.configPath} is valid: ${n(c.targets)} target(s), ${n(c.policies)} polic(ies), ${n(c.identityProviders)} identity provider(s)` }];
  },
};
