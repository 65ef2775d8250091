/**
 * The gateway's witness rounds (sharedState.witness.intervalSeconds): one at a time, the first soon after
 * start. A round that cannot reach the store is skipped and said once, until one succeeds again.
 */
import { describeError } from '../../shared/errors.ts';
import type { Appliance } from '../appliance.ts';
import type { SharedPostgres } from '../store/shared/postgres.ts';
import { FleetWitness, type WitnessLogger } from './witness.ts';

export interface WitnessLoop {
  stop(): Promise<void>;
}

export function startWitnessLoop(o: { shared: SharedPostgres; appliance: Appliance; intervalSeconds: number; logger: WitnessLogger }): WitnessLoop {
  const witness = new FleetWitness({ sql: o.shared, applianceId: o.appliance.id, log: o.appliance.log, db: o.appliance.db, signer: o.appliance.keys.signer, logger: o.logger });
  let running: Promise<void> | undefined;
  let failing = false;
  let stopped = false;
  const run = () => {
    if (running || stopped || !o.shared.up) return;
    running = witness
      .round()
      .then((r) => {
        if (failing) o.logger.info({}, 'witness rounds resumed');
        failing = false;
        if (r.cosigned.length || r.published) o.logger.info({ event: 'fleet.witness', published: r.published?.size, cosigned: r.cosigned }, 'witness round');
      })
      .catch((e: unknown) => {
        if (!failing) o.logger.warn({ err: describeError(e) }, 'witness round failed (will retry)');
        failing = true;
      })
      .finally(() => (running = undefined));
  };
  const first = setTimeout(run, 1000);
  const timer = setInterval(run, o.intervalSeconds * 1000);
  first.unref();
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
