/**
 * The running gateway (`vigil serve`): the appliance (evidence, log, keys) plus the session pipeline and
 * the protocol listeners in front of it.
 */
import { describeError } from '../shared/errors.ts';
import { Appliance } from './appliance.ts';
import { JwtVerifierRegistry } from './identity/index.ts';
import { loadOrCreateFingerprintKey } from './keys/fingerprint-key.ts';
import type { AppLogger } from './logger.ts';
import type { ApprovalGate } from './pipeline/approval-gate.ts';
import { SessionPipeline } from './pipeline/session.ts';
import { PolicyEngine } from './policy/engine.ts';
import { CancelRegistry } from './protocols/postgres/cancel-registry.ts';
import { PostgresListener } from './protocols/postgres/listener.ts';
import { SqlClassifier } from './sql/index.ts';

export interface GatewayOptions {
  logger: AppLogger;
  approvals?: ApprovalGate;
}

export class Gateway {
  private constructor(
    readonly appliance: Appliance,
    readonly pipeline: SessionPipeline,
    readonly postgres: PostgresListener | undefined,
    readonly addresses: { postgres?: { host: string; port: number } },
    private readonly logger: AppLogger,
  ) {}

  static async start(configPath: string, opts: GatewayOptions): Promise<Gateway> {
    const appliance = await Appliance.open(configPath);
    try {
      const { config } = appliance.loaded;
      const resolvePath = appliance.loaded.resolvePath;
      const fingerprintKey = loadOrCreateFingerprintKey(resolvePath(config.appliance.keysDir));
      const identity = new JwtVerifierRegistry(config.identityProviders, { fingerprintKey, resolvePath });
      for (const f of await identity.warmUp()) opts.logger.warn({ provider: f.provider, err: describeError(f.error) }, 'identity provider keys unavailable at start-up (will retry on use)');
      const pipeline = new SessionPipeline({
        recorder: appliance.recorder,
        policy: new PolicyEngine(config.policies),
        ...(opts.approvals ? { approvals: opts.approvals } : {}),
      });
      let postgres: PostgresListener | undefined;
      const addresses: Gateway['addresses'] = {};
      if (config.listeners.postgres) {
        postgres = new PostgresListener({
          listener: config.listeners.postgres,
          targets: new Map(config.targets.filter((t) => t.protocol === 'postgres').map((t) => [t.name, t])),
          pipeline,
          identity,
          mtls: config.mtls,
          fingerprintKey,
          classifier: await SqlClassifier.create(),
          resultRows: config.evidence.resultRows,
          cancels: new CancelRegistry(),
          resolvePath,
          logger: opts.logger,
        });
        addresses.postgres = await postgres.listen();
      }
      appliance.startTimers();
      for (const r of appliance.recovered) opts.logger.warn({ sessionId: r.sessionId, seq: r.seq, frames: r.frames }, 'sealed an interrupted session left by the previous run');
      opts.logger.info({ applianceId: appliance.id, ...addresses }, 'vigil gateway started');
      return new Gateway(appliance, pipeline, postgres, addresses, opts.logger);
    } catch (e) {
      await appliance.close();
      throw e;
    }
  }

  /** Stops listening, ends every session (sealing its archive), then closes the appliance. */
  async stop(): Promise<void> {
    await this.postgres?.close();
    const deadline = Date.now() + 10_000;
    while (this.appliance.recorder.liveSessions().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.appliance.recorder.liveSessions()) await s.close('the appliance is shutting down').catch(() => undefined);
    await this.appliance.close();
    this.logger.info({}, 'vigil gateway stopped');
  }
}
