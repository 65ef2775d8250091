/** A bot's node-postgres session through one appliance of a fleet, and what it is told while a command is held. */
import pg from 'pg';
import type { Fleet, FleetNode } from './fleet.ts';

export interface Bot {
  c: pg.Client;
  /** Resolves with the id of the next request the appliance announces in a NOTICE. */
  nextRequest(): Promise<string>;
}

export async function bot(f: Fleet, node: FleetNode, password?: string): Promise<Bot> {
  const c = new pg.Client({ host: '127.0.0.1', port: node.pgPort, user: 'bot', database: 'payments', password: password ?? (await f.token()), ssl: { rejectUnauthorized: false } });
  c.on('error', () => undefined);
  await c.connect();
  const waiters: ((id: string) => void)[] = [];
  c.on('notice', (n) => {
    const id = /request (apr_[\w-]+)/.exec(n.message ?? '')?.[1];
    if (id) waiters.shift()?.(id);
  });
  return { c, nextRequest: () => new Promise((r) => waiters.push(r)) };
}

/** A query whose failure is expected later: handled from the start so it never counts as unhandled. */
export function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  throw new Error('expected the statement to fail');
}

export async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
