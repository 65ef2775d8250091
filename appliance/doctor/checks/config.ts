/** vigil.yaml parses and validates (the same loader `vigil serve` and SIGHUP use). */
import { plural } from '../../../shared/text/plural.ts';
import type { DoctorCheck } from '../check.ts';

export const configCheck: DoctorCheck = {
  id: 'config',
  title: 'the configuration is valid',
  async run(ctx) {
    if ('error' in ctx.loaded) return [{ check: 'config', status: 'fail', detail: ctx.loaded.error, fix: `edit ${ctx.configPath} (docs/configuration.md), then run vigil doctor again` }];
    const c = ctx.loaded.config;
    return [{ check: 'config', status: 'pass', detail: `${ctx.configPath} is valid: ${plural(c.targets.length, 'target')}, ${plural(c.policies.length, 'policy')}, ${plural(c.identityProviders.length, 'identity provider')}` }];
  },
};
