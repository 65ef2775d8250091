/**
 * What a prepared-statement or portal name means, as the server will see it. The client pipelines Parse,
 * Bind and Close messages; the server answers them later, in order, and a message that fails (or is skipped
 * after an earlier error, up to Sync) changes nothing. So each name keeps the history of operations sent
 * for it, each pending until the server answers: the meaning of a name is the latest operation that did not
 * fail. A failure removes only that operation — never restores a snapshot taken before later messages
 * changed the name again (a DEALLOCATE or Close between them would otherwise bring back a stale meaning).
 *
 * One exception follows PostgreSQL: a Parse of the unnamed statement drops the previous unnamed statement
 * before it is parsed, so even when it fails the name is left empty (`onFail: 'absent'`).
 */
export type OnFail = 'vanish' | 'absent';

interface Operation<V> {
  value: V | undefined;
  state: 'pending' | 'done';
  onFail: OnFail;
}

/** What the caller settles when the server answers the message that carried the operation. */
export interface PendingName {
  settle(ok: boolean): void;
}

export class NameTable<V> {
  private readonly names = new Map<string, Operation<V>[]>();

  /** The value the server will use for `name` when the next message reaches it. */
  get(name: string): V | undefined {
    const ops = this.names.get(name);
    return ops ? ops[ops.length - 1]!.value : undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Sends a new meaning for `name` (undefined: the name is closed). */
  set(name: string, value: V | undefined, onFail: OnFail = 'vanish'): PendingName {
    let ops = this.names.get(name);
    if (!ops) this.names.set(name, (ops = []));
    const op: Operation<V> = { value, state: 'pending', onFail };
    ops.push(op);
    return { settle: (ok) => this.settle(name, op, ok) };
  }

  /** Forgets every name at once (DEALLOCATE ALL, DISCARD ALL, the end of a transaction for portals). */
  clear(): void {
    this.names.clear();
  }

  /** Drops every operation whose value fails `keep` (portals of a transaction that ended). */
  retain(keep: (v: V) => boolean): void {
    for (const [name, ops] of this.names) {
      const left = ops.filter((op) => op.value === undefined || keep(op.value));
      if (left.length === 0 || left.every((op) => op.value === undefined && op.state === 'done')) this.names.delete(name);
      else if (left.length !== ops.length) this.names.set(name, left);
    }
  }

  get size(): number {
    return this.names.size;
  }

  private settle(name: string, op: Operation<V>, ok: boolean): void {
    const ops = this.names.get(name);
    const at = ops?.indexOf(op) ?? -1;
    if (!ops || at < 0 || op.state === 'done') return;
    if (!ok && op.onFail === 'vanish') {
      ops.splice(at, 1);
    } else {
      if (!ok) op.value = undefined;
      op.state = 'done';
      // Everything sent before a completed operation is superseded by it.
      ops.splice(0, at);
    }
    if (ops.length === 0 || (ops.length === 1 && ops[0]!.state === 'done' && ops[0]!.value === undefined)) this.names.delete(name);
  }
}
