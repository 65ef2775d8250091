/** Every target answers, with TLS or the host key as pinned (a probe per protocol, probes/). */
import { describeError } from '../../../shared/errors.ts';
import { needConfig, isResult, type DoctorCheck, type DoctorResult } from '../check.ts';
import { kubernetesProbe } from '../probes/kubernetes.ts';
import { postgresProbe } from '../probes/postgres.ts';
import type { TargetProbe } from '../probes/probe.ts';
import { sshProbe } from '../probes/ssh.ts';

const PROBES: Record<string, TargetProbe> = { postgres: postgresProbe, ssh: sshProbe, kubernetes: kubernetesProbe };

export const targetsCheck: DoctorCheck = {
  id: 'targets',
  title: 'every target is reachable, with TLS / host key as pinned',
  async run(ctx) {
    const loaded = needConfig(ctx, 'targets');
    if (isResult(loaded)) return [loaded];
    if (!loaded.config.targets.length) return [{ check: 'targets', status: 'pass', detail: 'no targets configured: nothing to reach' }];
    return Promise.all(
      loaded.config.targets.map(async (t): Promise<DoctorResult> => {
        const probe = PROBES[t.protocol];
        if (!probe) return { check: 'targets', subject: t.name, status: 'unknown', detail: `${t.name}: no probe for protocol ${t.protocol}` };
        try {
          return { check: 'targets', subject: t.name, ...(await probe(t, loaded.resolvePath)) };
        } catch (e) {
          return { check: 'targets', subject: t.name, status: 'fail', detail: `${t.name}: ${describeError(e)}`, fix: 'check the target host, port, TLS settings and the network path' };
        }
      }),
    );
  },
};
