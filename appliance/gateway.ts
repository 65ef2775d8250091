/**
 * The running gateway (`vigil serve`): the appliance (evidence, log, keys) plus the session pipeline and
 * the protocol listeners in front of it — one per adapter in protocols/registry.ts whose listeners.<name>
 * block vigil.yaml has.
 */
import { createHash } from 'node:crypto';
import { describeError } from '../shared/errors.ts';
import { loadConfig } from './config/load-config.ts';
import { Appliance } from './appliance.ts';
import { JwtVerifierRegistry } from './identity/index.ts';
import { loadOrCreateFingerprintKey } from './keys/fingerprint-key.ts';
import type { AppLogger } from './logger.ts';
import type { ApprovalGate } from './pipeline/approval-gate.ts';
import { SessionPipeline } from './pipeline/session.ts';
import { PolicyEngine } from './policy/engine.ts';
import type { AnyProtocolAdapter, RunningProtocol } from './protocols/adapter.ts';
import { PROTOCOLS } from './protocols/registry.ts';
import { SqliteTokenReplayStore } from './store/token-replay-store.ts';
import { AdminServer } from './admin/server.ts';
import { ApprovalService } from './approvals/service.ts';
import { evidenceStorageHealth } from './shipping/health.ts';
import { SharedApprovalService } from './approvals/shared-service.ts';
import { startWitnessLoop, type WitnessLoop } from './fleet/witness-loop.ts';
import { SharedApprovalStore } from './store/shared/approval-store.ts';
import { connectionConfig, SharedPostgres } from './store/shared/postgres.ts';
import { PostgresTokenReplayStore } from './store/shared/token-replay.ts';
import { WebhookNotifier } from './approvals/webhooks.ts';
import type { PolicyConfig } from './policy/config.ts';
import { PrometheusMetrics } from './metrics/prometheus.ts';
import { setMeta } from './store/database.ts';

/** Every group any policy names as approvers: membership in one of them opens the admin API. */
function approverGroups(policies: readonly PolicyConfig[]): Set<string> {
  const out = new Set<string>();
  for (const p of policies) {
    for (const g of p.approvers?.groups ?? []) out.add(g);
    for (const r of p.rules) for (const g of r.approvers?.groups ?? []) out.add(g);
  }
  return out;
}

/** The appliance's own approvals (SQLite), or a fleet's through the shared store (docs/fleet.md). */
export type Approvals = ApprovalService | SharedApprovalService;

export interface GatewayOptions {
  logger: AppLogger;
  approvals?: ApprovalGate;
  /** Default: a fresh PrometheusMetrics (its own registry), served at the admin API's /metrics. */
  metrics?: PrometheusMetrics;
}

/** What readiness (/readyz) reads; set by the journal observer and by stop(). */
interface GatewayState {
  started: boolean;
  journalFailed: boolean;
  draining: boolean;
}

/** Sections of vigil.yaml a reload applies; every other one takes effect on restart. */
const RELOADABLE = new Set(['policies', 'schedules']);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface ReloadResult {
  event: 'config.changed';
  path: string;
  /** SHA-256 of the file now read, and of the one read before. */
  digest: string;
  previousDigest: string;
  /** Top-level sections that changed and now apply (to sessions opened from now on). */
  applied: string[];
  /** Sections that changed but apply only after a restart (listeners, targets, identity providers…). */
  restartNeeded: string[];
}

export class Gateway {
  private constructor(
    readonly appliance: Appliance,
    readonly pipeline: SessionPipeline,
    /** The started protocols, by adapter name, in registry order. */
    readonly protocols: ReadonlyMap<string, RunningProtocol>,
    readonly admin: AdminServer | undefined,
    readonly approvals: Approvals,
    readonly webhooks: WebhookNotifier,
    /** The fleet's shared PostgreSQL (sharedState in vigil.yaml), when there is one. */
    readonly shared: SharedPostgres | undefined,
    /** Where each protocol listener (by adapter name) and the admin API listen. */
    readonly addresses: Readonly<Partial<Record<string, { host: string; port: number }>>>,
    private readonly logger: AppLogger,
    /** The approver groups the admin API admits (the policies' approvers), updated by reload(). */
    private readonly approverGroupSet: Set<string>,
    readonly metrics: PrometheusMetrics,
    private readonly state: GatewayState,
  ) {
    this.running = { text: appliance.loaded.text, config: appliance.loaded.config };
  }

  private running: { text: string; config: Gateway['appliance']['loaded']['config'] };

  /**
   * Re-reads vigil.yaml (SIGHUP). The whole file is validated first: a bad one throws (VigilError, naming
   * file:line) and the running configuration stays. A valid one applies what can change under load —
   * `policies` and `schedules` (and the approver groups they name), for sessions opened from now on;
   * sessions already open keep the policy they were granted — and reports every other changed section as
   * needing a restart, without applying it. Logged as `config.changed` with the SHA-256 of the file.
   */
  reload(): ReloadResult {
    const loaded = loadConfig(this.appliance.loaded.path);
    const digest = sha256(loaded.text);
    const previous = sha256(this.running.text);
    const changed = Object.keys({ ...loaded.config, ...this.running.config }).filter(
      (k) => JSON.stringify((loaded.config as Record<string, unknown>)[k]) !== JSON.stringify((this.running.config as Record<string, unknown>)[k]),
    );
    const applied = changed.filter((k) => RELOADABLE.has(k));
    const restartNeeded = changed.filter((k) => !RELOADABLE.has(k));
    if (digest !== previous) {
      // Signed before it applies: if the log cannot take it, the reload fails and the old policy stays, so
      // no session runs under a configuration the evidence does not name.
      this.appliance.db.transaction(() => {
        this.appliance.log.append('config.changed', { digest, previousDigest: previous, path: loaded.path, reason: 'reload', applied, restartNeeded });
        setMeta(this.appliance.db, 'config_digest', digest);
      })();
    }
    if (applied.length) {
      this.pipeline.opts.policy = new PolicyEngine(loaded.config.policies, { schedules: loaded.config.schedules });
      this.approverGroupSet.clear();
      for (const g of approverGroups(loaded.config.policies)) this.approverGroupSet.add(g);
    }
    // What runs now: the applied sections from the new file, the others as they were.
    this.running = {
      text: loaded.text,
      config: { ...this.running.config, ...Object.fromEntries(applied.map((k) => [k, (loaded.config as Record<string, unknown>)[k]])) } as typeof loaded.config,
    };
    const result = { event: 'config.changed' as const, path: loaded.path, digest, previousDigest: previous, applied, restartNeeded };
    if (!changed.length && digest === previous) this.logger.info({ ...result, event: 'config.unchanged' }, 'configuration re-read: no change');
    else this.logger.info(result, restartNeeded.length ? `configuration reloaded; ${restartNeeded.join(', ')} changed and take effect on restart` : 'configuration reloaded');
    return result;
  }

  /** This appliance's own approvals (no sharedState): what in-process tests decide through. */
  get localApprovals(): ApprovalService {
    if (!(this.approvals instanceof ApprovalService)) throw new Error('this appliance keeps its approvals in the shared store (sharedState)');
    return this.approvals;
  }

  /** The started protocol `name` (e.g. 'postgres'), if vigil.yaml configures its listener. */
  protocol(name: string): RunningProtocol | undefined {
    return this.protocols.get(name);
  }

  static async start(configPath: string, opts: GatewayOptions): Promise<Gateway> {
    const metrics = opts.metrics ?? new PrometheusMetrics();
    const state: GatewayState = { started: false, journalFailed: false, draining: false };
    const appliance = await Appliance.open(configPath, {
      journalObserver: {
        commit: (s, n) => metrics.journalCommit(s, n),
        bytes: (n) => metrics.archiveBytes(n),
        failed: () => {
          state.journalFailed = true;
          metrics.recorderFailure('journal');
          opts.logger.error({ event: 'recorder.failed' }, 'the evidence journal cannot be written: every command is refused until restart');
        },
      },
    });
    let shared: SharedPostgres | undefined;
    try {
      const { config } = appliance.loaded;
      const resolvePath = appliance.loaded.resolvePath;
      if (metrics instanceof PrometheusMetrics) {
        metrics.evidenceStorage(() => {
          const h = evidenceStorageHealth(appliance.db, config);
          return { shippingLagSeconds: h.shipping.lagSeconds, shippingPending: h.shipping.pending, shippingFailing: h.shipping.failing, retentionDue: h.retention.due, retentionOverdue: h.retention.overdue };
        });
      }
      const fingerprintKey = loadOrCreateFingerprintKey(resolvePath(config.appliance.keysDir));
      // What a fleet shares lives in its PostgreSQL; one appliance keeps it in its own database.
      const sharedCfg = config.sharedState?.postgres;
      shared = sharedCfg
        ? new SharedPostgres(connectionConfig(sharedCfg, resolvePath), appliance.id, { poolSize: sharedCfg.poolSize, pingIntervalMs: sharedCfg.pingIntervalMs, logger: opts.logger })
        : undefined;
      // Single-use tokens' ids are durable (SQLite or the shared store), so a restart does not reopen the replay window.
      const replayStore = shared ? new PostgresTokenReplayStore(shared) : new SqliteTokenReplayStore(appliance.db);
      const identity = new JwtVerifierRegistry(config.identityProviders, { fingerprintKey, resolvePath, replayStore });
      for (const f of await identity.warmUp()) opts.logger.warn({ provider: f.provider, err: describeError(f.error) }, 'identity provider keys unavailable at start-up (will retry on use)');
      const addresses: Partial<Record<string, { host: string; port: number }>> = {};
      const adminUrl = () => (addresses.admin ? `https://${addresses.admin.host}:${addresses.admin.port}` : undefined);
      const howTo = (id: string) => {
        const url = adminUrl();
        return url ? `an approver runs: vigil approvals approve ${id} --url ${url}` : `approvals need listeners.admin in vigil.yaml (request ${id})`;
      };
      const webhooks = new WebhookNotifier(config.approvals.webhooks, opts.logger, resolvePath, howTo);
      const approvals: Approvals = shared
        ? new SharedApprovalService({ db: appliance.db, log: appliance.log, shared, store: new SharedApprovalStore(shared), expirySeconds: config.approvals.expirySeconds, webhooks, howTo, logger: opts.logger })
        : new ApprovalService({ db: appliance.db, log: appliance.log, expirySeconds: config.approvals.expirySeconds, webhooks, howTo });
      const orphans = approvals.cancelOrphans();
      if (orphans) opts.logger.warn({ cancelled: orphans }, 'approval requests left pending by the previous run were cancelled');
      // Not reachable yet: the gateway starts anyway (allowed commands work; held ones are refused) and keeps trying.
      await shared?.start();
      const pipeline = new SessionPipeline({
        recorder: appliance.recorder,
        policy: new PolicyEngine(config.policies, { schedules: config.schedules }),
        approvals: opts.approvals ?? approvals,
        commandKey: fingerprintKey,
        metrics,
        logger: opts.logger,
      });
      let admin: AdminServer | undefined;
      const protocols = new Map<string, RunningProtocol>();
      const approverGroupSet = approverGroups(config.policies);
      if (config.listeners.admin) {
        admin = new AdminServer({
          config: config.listeners.admin,
          resolvePath,
          identity,
          approvals,
          approverGroups: approverGroupSet,
          logger: opts.logger,
          metrics,
          readiness: () => readiness(protocols, state),
        });
        addresses.admin = await admin.listen();
      }
      try {
        for (const adapter of PROTOCOLS as readonly AnyProtocolAdapter[]) {
          const listener = (config.listeners as Readonly<Record<string, unknown>>)[adapter.name];
          if (listener === undefined) continue;
          const running = await adapter.start({
            listener,
            targets: new Map(config.targets.filter((t) => t.protocol === adapter.name).map((t) => [t.name, t])),
            shared: { mtls: config.mtls, evidence: config.evidence },
            pipeline,
            identity,
            fingerprintKey,
            log: appliance.log,
            resolvePath,
            logger: opts.logger,
          });
          protocols.set(adapter.name, running);
          if (running.routes?.length) {
            if (admin) admin.addRoutes(running.routes);
            else opts.logger.warn({ protocol: adapter.name, routes: running.routes.map((r) => `${r.method} ${r.path}`) }, `the ${adapter.title} endpoints need listeners.admin in vigil.yaml; they are not served`);
          }
          addresses[adapter.name] = running.address;
        }
      } catch (e) {
        for (const p of protocols.values()) await p.close().catch(() => undefined);
        await admin?.close();
        await shared?.close();
        throw e;
      }
      appliance.startTimers();
      state.started = true;
      for (const r of appliance.recovered) opts.logger.warn({ sessionId: r.sessionId, seq: r.seq, frames: r.frames }, 'sealed an interrupted session left by the previous run');
      opts.logger.info({ applianceId: appliance.id, ...addresses }, 'vigil gateway started');
      const gateway = new Gateway(appliance, pipeline, protocols, admin, approvals, webhooks, shared, addresses, opts.logger, approverGroupSet, metrics, state);
      // A fleet member cross-witnesses the others' logs (docs/fleet.md); a non-member's rounds do nothing.
      if (shared && config.sharedState) gateway.witness = startWitnessLoop({ shared, appliance, intervalSeconds: config.sharedState.witness.intervalSeconds, logger: opts.logger });
      return gateway;
    } catch (e) {
      await shared?.close();
      await appliance.close();
      throw e;
    }
  }

  /** The fleet's witness rounds (sharedState), stopped before the store and the appliance close. */
  witness: WitnessLoop | undefined;

  /** Stops listening, ends every session (sealing its archive), then closes the appliance. */
  private stopped: Promise<void> | undefined;

  stop(): Promise<void> {
    this.stopped ??= this.stopOnce();
    return this.stopped;
  }

  /**
   * Graceful shutdown (SIGTERM): stop accepting on every listener, let open sessions end on their own for up
   * to shutdown.drainSeconds (the admin API stays up, so held commands can still be decided, and /readyz
   * says draining), then end the rest — recorded as interrupted by shutdown — and close. Only sessions a
   * policy granted are waited for: a connection still authenticating (or refused) has no work to finish and
   * is ended with the listeners.
   */
  private async stopOnce(): Promise<void> {
    this.state.draining = true;
    const drainSeconds = this.appliance.loaded.config.shutdown.drainSeconds;
    for (const p of this.protocols.values()) p.stopAccepting();
    const working = () => this.pipeline.openSessions.filter((s) => s.policy !== undefined);
    const open = working().length;
    this.logger.info({ event: 'shutdown.draining', openSessions: open, drainSeconds }, 'stopped accepting; draining open sessions');
    const drainUntil = Date.now() + drainSeconds * 1000;
    while (working().length > 0 && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
    const left = working();
    const why = `interrupted: the appliance shut down (open sessions had ${drainSeconds} s to end)`;
    for (const s of left) this.logger.warn({ event: 'session.interrupted', sessionId: s.id, protocol: s.protocol }, 'session still open at the drain deadline: ended as interrupted');
    const sealing = left.map((s) => s.interrupt(why).catch(() => undefined));
    for (const p of this.protocols.values()) await p.close();
    await Promise.all(sealing);
    this.logger.info({ event: 'shutdown.drained', drained: open - left.length, interrupted: left.length }, 'sessions drained');
    await this.admin?.close();
    const deadline = Date.now() + 10_000;
    while (this.appliance.recorder.liveSessions().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.appliance.recorder.liveSessions()) await s.close('the appliance is shutting down').catch(() => undefined);
    // Held commands ended by the shutdown tell the shared store first.
    if (this.approvals instanceof SharedApprovalService) await this.approvals.idle();
    await this.witness?.stop();
    await this.shared?.close();
    await this.appliance.close();
    await Promise.race([this.webhooks.idle(), new Promise((r) => setTimeout(r, 2000))]);
    this.logger.info({}, 'vigil gateway stopped');
  }
}

/** /readyz: ready while every listener is up, the journal writable and the gateway not draining. */
function readiness(protocols: ReadonlyMap<string, RunningProtocol>, state: GatewayState): { ready: boolean; checks: Record<string, string> } {
  const checks: Record<string, string> = {};
  for (const name of protocols.keys()) checks[`listener.${name}`] = state.draining ? 'draining' : 'up';
  checks['journal'] = state.journalFailed ? 'failed' : 'ok';
  checks['state'] = state.draining ? 'draining' : state.started ? 'serving' : 'starting';
  return { ready: state.started && !state.draining && !state.journalFailed, checks };
}
