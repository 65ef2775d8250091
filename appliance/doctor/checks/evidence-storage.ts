/**
 * Retention and shipping are healthy, from the appliance's database (appliance/shipping/health.ts; no
 * bucket request): shipping is not failing or lagging, and no session is overdue for its purge. Shipping
 * not configured is a pass that says so — archives then live only on this disk.
 */
import { plural } from '../../../shared/text/plural.ts';
import { evidenceStorageHealth } from '../../shipping/health.ts';
import { isResult, needConfig, needDb, type DoctorCheck, type DoctorResult } from '../check.ts';

export const evidenceStorageCheck: DoctorCheck = {
  id: 'evidence-storage',
  title: 'retention and shipping are healthy',
  async run(ctx) {
    const loaded = needConfig(ctx, 'evidence-storage');
    if (isResult(loaded)) return [loaded];
    const db = needDb(ctx, 'evidence-storage');
    if (isResult(db)) return [db];
    let h;
    try {
      h = evidenceStorageHealth(db, loaded.config, { now: ctx.now() });
    } catch (e) {
      // An appliance database from before shipping existed has no shipments table: not checked.
      return [{ check: 'evidence-storage', status: 'unknown', detail: `not checked: ${(e as Error).message}`, fix: 'start the gateway once with this Vigil version (it migrates the database)' }];
    }
    const out: DoctorResult[] = [];
    const s = h.shipping;
    if (!s.enabled) {
      out.push({ check: 'evidence-storage', subject: 'shipping', status: 'pass', detail: 'shipping is not configured: archives are kept on this disk only', fix: 'for WORM copies, configure shipping: (docs/operations.md)' });
    } else {
      const facts = `${s.pending} pending (${s.failing} failing), lag ${Math.round(s.lagSeconds)} s, ${plural(s.shipped.archives, 'archive')} and ${plural(s.shipped.checkpoints, 'checkpoint')} shipped`;
      out.push(
        s.ok
          ? { check: 'evidence-storage', subject: 'shipping', status: 'pass', detail: facts }
          : { check: 'evidence-storage', subject: 'shipping', status: 'fail', detail: `${facts}: ${s.problems.join('; ')}`, fix: s.lastError ? `last error (${s.lastError.key}): ${s.lastError.error} — check the bucket endpoint, credentials and Object Lock; \`vigil shipping run\` retries now` : 'check that the gateway runs and can reach the bucket; `vigil shipping status`' },
      );
    }
    const r = h.retention;
    const rfacts = `policy ${r.policy} (${r.days} days): ${r.due} due, ${r.overdue} overdue, ${r.held} on legal hold, ${r.purged} purged`;
    out.push(
      r.ok
        ? { check: 'evidence-storage', subject: 'retention', status: 'pass', detail: rfacts }
        : { check: 'evidence-storage', subject: 'retention', status: 'fail', detail: `${rfacts}: ${r.problems.join('; ')}`, fix: 'run `vigil retention run --dry-run` to see what is due, then `vigil retention run`; check the gateway log' },
    );
    return out;
  },
};
