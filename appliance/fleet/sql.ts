/**
 * What the fleet code needs of the shared store: a query and a transaction. The gateway passes its
 * SharedPostgres; a `vigil fleet …` command opens a FleetConnection (a small pool, schema migrated once).
 */
import pg from 'pg';
import { VigilError } from '../../shared/errors.ts';
import { Appliance } from '../appliance.ts';
import type { LoadedConfig } from '../config/load-config.ts';
import { connectionConfig, SharedStoreUnavailable } from '../store/shared/postgres.ts';
import { migrateShared } from '../store/shared/schema.ts';

export interface FleetSql {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  tx<T>(fn: (c: pg.ClientBase) => Promise<T>): Promise<T>;
}

export class FleetError extends VigilError {}

export class FleetConnection implements FleetSql {
  private constructor(
    private readonly pool: pg.Pool,
    readonly where: string,
  ) {}

  /** Connects to the shared store named in vigil.yaml (sharedState.postgres), creating its tables if needed. */
  static async open(loaded: LoadedConfig): Promise<FleetConnection> {
    const c = loaded.config.sharedState?.postgres;
    if (!c) throw new VigilError('E_CONFIG', `${loaded.path}: no sharedState.postgres: this appliance is not part of a fleet`, { hint: 'see docs/fleet.md' });
    const { where, ...conn } = connectionConfig(c, loaded.resolvePath);
    const pool = new pg.Pool({ ...conn, max: 2 });
    pool.on('error', () => undefined);
    const fc = new FleetConnection(pool, where);
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      await migrateShared(client);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e instanceof VigilError ? e : new SharedStoreUnavailable(`${where}: ${(e as Error).message}`);
    } finally {
      client?.release();
    }
    return fc;
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, values);
  }

  async tx<T>(fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Opens the appliance beside a possible running gateway (no lock, as `vigil export`) and its fleet connection. */
export async function withFleet<T>(configPath: string, fn: (app: Appliance, fleet: FleetConnection) => Promise<T>): Promise<T> {
  const app = await Appliance.open(configPath, { owner: false });
  try {
    const fleet = await FleetConnection.open(app.loaded);
    try {
      return await fn(app, fleet);
    } finally {
      await fleet.close();
    }
  } finally {
    await app.close();
  }
}
