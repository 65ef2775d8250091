/**
 * The gateway's own connection to a target, for reading its catalog: one per target, opened on first use
 * with the target's credential, queries one at a time over the extended protocol (parameters as text,
 * never spliced into SQL), results as text. A broken connection is dropped and reopened on the next query.
 */
import type { Socket } from 'node:net';
import { VigilError } from '../../../../shared/errors.ts';
import type { PostgresTarget } from '../config.ts';
import { readCredential } from '../../../targets/credentials.ts';
import { connectUpstream } from '../upstream-connect.ts';
import { BackendReader, decodeDataRow, decodeNoticeFields, toServer } from '../wire/index.ts';

export type Row = (string | null)[];

export class CatalogConnection {
  private socket: Socket | undefined;
  private opening: Promise<Socket> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly target: PostgresTarget,
    private readonly resolvePath: (p: string) => string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Runs one statement with text parameters; rows of text values. Queries never overlap. */
  query(sql: string, params: readonly string[] = []): Promise<Row[]> {
    const run = this.queue.then(() => this.run(sql, params));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private async connect(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.opening ??= (async () => {
      const password = readCredential(this.target.credential, this.resolvePath, this.target.name);
      const up = await connectUpstream(this.target, { password, params: { application_name: 'vigil-catalog', client_encoding: 'UTF8' }, resolvePath: this.resolvePath });
      up.socket.on('error', () => undefined);
      up.socket.unref();
      up.socket.on('close', () => {
        if (this.socket === up.socket) this.socket = undefined;
      });
      return up.socket;
    })().finally(() => (this.opening = undefined));
    const s = await this.opening;
    if (this.closed) {
      s.destroy();
      throw new VigilError('E_CATALOG_CLOSED', 'the catalog connection was closed');
    }
    this.socket = s;
    return s;
  }

  private async run(sql: string, params: readonly string[]): Promise<Row[]> {
    const socket = await this.connect();
    return new Promise<Row[]>((resolve, reject) => {
      const reader = new BackendReader();
      const rows: Row[] = [];
      let failure: string | undefined;
      const finish = (e?: Error) => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.pause();
        if (e) reject(e);
        else if (failure !== undefined) reject(new VigilError('E_CATALOG_QUERY', `catalog query failed on target ${this.target.name}: ${failure}`));
        else resolve(rows);
      };
      const onData = (chunk: Buffer) => {
        try {
          reader.push(chunk);
          for (let f = reader.next(); f; f = reader.next()) {
            if (f.type === 'D') rows.push(decodeDataRow(f.body).map((v) => (v === null ? null : v.toString('utf8'))));
            else if (f.type === 'E') failure = decodeNoticeFields(f.body).get('M') ?? 'error';
            else if (f.type === 'Z') return finish();
          }
        } catch (e) {
          socket.destroy();
          finish(e instanceof Error ? e : new Error(String(e)));
        }
      };
      const onClose = () => finish(new VigilError('E_CATALOG_CLOSED', `the catalog connection to target ${this.target.name} closed`));
      const timer = setTimeout(() => {
        socket.destroy();
        finish(new VigilError('E_CATALOG_TIMEOUT', `catalog query on target ${this.target.name} took longer than ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.resume();
      socket.write(Buffer.concat([toServer.parse('', sql), toServer.bind({ params: [...params] }), toServer.execute(), toServer.sync()]));
    });
  }
}
