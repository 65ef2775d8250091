/**
 * The connection to the fleet's shared PostgreSQL: a small pool for requests and decisions, and one
 * dedicated connection that LISTENs for the fleet's notifications and holds this appliance's presence lock
 * (a session-level advisory lock: while it is held, the others know this appliance is connected and
 * waiting on its held commands). That connection is "the store is up": when it fails (or a ping does not
 * come back in time) the store is down until it reconnects, and `up` fires again — the approval service
 * then reconciles what it missed. Nothing here ever logs the URL's password or the password file's content.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { VigilError } from '../../../shared/errors.ts';
import type { SharedPostgresConfig } from './config.ts';
import { migrateShared } from './schema.ts';

export const NOTIFY_CHANNEL = 'vigil_approvals';
/** The first key of every presence lock ('VIGL'); the second is hashtext(appliance id). */
export const PRESENCE_LOCK_CLASS = 0x5649474c;

export interface SharedLogger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

export interface Notification {
  id: string;
  appliance: string;
}

export class SharedStoreUnavailable extends VigilError {
  constructor(detail: string) {
    super('E_SHARED_STATE_UNAVAILABLE', `the fleet's shared store (PostgreSQL) is unreachable: ${detail}`, {
      hint: 'commands that need approval are refused until it is back; see docs/fleet.md',
    });
  }
}

/** Connection settings from vigil.yaml; the password read from its file. */
export function connectionConfig(c: SharedPostgresConfig, resolvePath: (p: string) => string): pg.ClientConfig & { where: string } {
  const text = c.urlFile ? readSecret(resolvePath(c.urlFile), 'sharedState.postgres.urlFile') : c.url!;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new VigilError('E_CONFIG', 'sharedState.postgres: the URL cannot be parsed', { hint: 'postgres://user@host:port/database' });
  }
  const password = c.passwordFile ? readSecret(resolvePath(c.passwordFile), 'sharedState.postgres.passwordFile') : decodeURIComponent(u.password);
  const sslmode = u.searchParams.get('sslmode') ?? (c.ca ? 'verify-full' : 'disable');
  const ca = c.ca ? readFileSync(resolvePath(c.ca), 'utf8') : undefined;
  const ssl =
    sslmode === 'disable' ? false : sslmode === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(ca ? { ca } : {}), ...(sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}) };
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 5432);
  return {
    host,
    port,
    database,
    user: decodeURIComponent(u.username) || 'vigil',
    ...(password ? { password } : {}),
    ssl,
    application_name: 'vigil-appliance',
    connectionTimeoutMillis: c.timeoutMs,
    query_timeout: c.timeoutMs,
    keepAlive: true,
    // For logs: never the password.
    where: `${host}:${port}/${database}`,
  };
}

function readSecret(path: string, what: string): string {
  try {
    const first = readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '';
    if (!first) throw new Error('empty');
    return first;
  } catch (e) {
    throw new VigilError('E_CONFIG', `${what}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export declare interface SharedPostgres {
  on(event: 'up' | 'down', f: () => void): this;
  on(event: 'notify', f: (n: Notification) => void): this;
}

export class SharedPostgres extends EventEmitter {
  readonly pool: pg.Pool;
  readonly where: string;
  private listener: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private backoffMs = 200;
  private closed = false;
  private isUp = false;
  private presence = false;
  private readonly conn: pg.ClientConfig;

  constructor(
    config: pg.ClientConfig & { where: string },
    readonly applianceId: string,
    private readonly o: { poolSize: number; pingIntervalMs: number; logger: SharedLogger },
  ) {
    super();
    const { where, ...conn } = config;
    this.where = where;
    this.conn = conn;
    this.pool = new pg.Pool({ ...conn, max: o.poolSize, idleTimeoutMillis: 30_000 });
    // An idle pooled connection that breaks must not crash the appliance; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  /** Connected (the LISTEN connection is open and answered its last ping). */
  get up(): boolean {
    return this.isUp;
  }

  /** Connects once (migrating the schema); on failure keeps retrying in the background. Never throws. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Runs `fn` in one transaction on a pooled connection. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.checkout();
    let broken = false;
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => (broken = true));
      throw e;
    } finally {
      c.release(broken);
    }
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    const c = await this.checkout();
    let broken = false;
    try {
      return await c.query<R>(text, values);
    } catch (e) {
      broken = isConnectionError(e);
      throw e;
    } finally {
      c.release(broken);
    }
  }

  private async checkout(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      throw new SharedStoreUnavailable((e as Error).message);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const l = this.listener;
    this.listener = undefined;
    this.isUp = false;
    await l?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.connectOnce().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    if (this.closed) return;
    const c = new pg.Client(this.conn);
    c.on('error', () => this.lost(c, 'connection error'));
    c.on('end', () => this.lost(c, 'connection closed'));
    try {
      await c.connect();
      await migrateShared(c);
      await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
      await this.takePresence(c);
    } catch (e) {
      await c.end().catch(() => undefined);
      this.o.logger.warn({ sharedState: this.where, err: (e as Error).message, retryMs: this.backoffMs }, 'cannot reach the shared store (PostgreSQL); retrying');
      this.retry();
      return;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    c.on('notification', (n) => {
      if (n.channel !== NOTIFY_CHANNEL || !n.payload) return;
      try {
        const p = JSON.parse(n.payload) as Notification;
        if (typeof p.id === 'string' && typeof p.appliance === 'string') this.emit('notify', p);
      } catch {
        /* not ours */
      }
    });
    this.listener = c;
    this.backoffMs = 200;
    this.isUp = true;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => void this.ping(c), this.o.pingIntervalMs);
    this.pingTimer.unref();
    this.o.logger.info({ sharedState: this.where, presence: this.presence }, 'connected to the shared store (PostgreSQL)');
    this.emit('up');
  }

  /** Announces this appliance as connected; a lock still held by our own dead connection is retried on each ping. */
  private async takePresence(c: pg.Client): Promise<void> {
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [PRESENCE_LOCK_CLASS, this.applianceId]);
    this.presence = r.rows[0]?.ok === true;
  }

  private async ping(c: pg.Client): Promise<void> {
    if (this.listener !== c) return;
    try {
      await c.query('SELECT 1');
      if (!this.presence) await this.takePresence(c);
    } catch {
      this.lost(c, 'no answer to a ping');
    }
  }

  private lost(c: pg.Client, why: string): void {
    if (this.listener !== c) return;
    this.listener = undefined;
    this.presence = false;
    clearInterval(this.pingTimer);
    // A half-open connection must not keep a presence lock or a LISTEN the server still believes in.
    (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    c.end().catch(() => undefined);
    if (this.isUp) {
      this.isUp = false;
      this.o.logger.warn({ sharedState: this.where, why }, 'lost the shared store (PostgreSQL): new commands that need approval are refused; held ones stay held');
      this.emit('down');
    }
    this.retry();
  }

  private retry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.backoffMs);
    this.retryTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, 5_000);
  }
}

export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return /^(ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|57P0|08)/.test(code) || /Connection terminated|timeout/i.test((e as Error).message ?? '');
}
