/**
 * The legacy scp protocol (`scp -O`: an exec of `scp -t`/`scp -f`), relayed by Vigil line by line in
 * lockstep with both ends, so the relay's view of the exchange is the remote scp's view:
 *   - every file and directory is a command of kind `scp` (`put`/`mkdir` for uploads, `get`/`ls` for
 *     downloads), its path resolved as the remote scp will use it (sftp-paths.ts, with the target's REALPATH),
 *     decided and made durable before the line reaches the other end. A refused one is answered for the
 *     receiver with a warning (`\x01`), so the sender skips it and the remote scp never sees it;
 *   - each file's bytes become one `transfer` event with their SHA-256; the bytes themselves are not recorded
 *     (as for SFTP);
 *   - a download holding a clear card number (policy `ssh.transfers.clearPan: block`) is stopped before the
 *     bytes holding it are sent: the data is passed on LOOK bytes behind what was scanned, the channel ends;
 *   - a control line Vigil cannot read the way OpenSSH's scp would (scp-protocol.ts) ends the channel.
 */
import type { ClientChannel, ServerChannel } from 'ssh2';
import { posix } from 'node:path';
import type { PipelineSession } from '../../pipeline/session.ts';
import type { ScpServer } from './scp-command.ts';
import { MAX_DEPTH, MAX_LINE, parseScpLine, ScpProtocolError, sourceName, statusLine, type ScpLine } from './scp-protocol.ts';
import { ScpReader } from './scp-reader.ts';
import { decideOperation, type OperationContext } from './sftp-decide.ts';
import { cardDataIn, LOOK } from './sftp-download.ts';
import { OPEN_FLAGS, openOperation, pathOperation } from './sftp-ops.ts';
import { lexicalPath, resolvePath, type ResolvedPath } from './sftp-paths.ts';
import { PAN_BLOCKED } from './sftp-proxy.ts';
import type { TargetSftp } from './sftp-target.ts';
import { Transfer } from './sftp-transfer.ts';

export interface ScpRelayOptions extends OperationContext {
  server: ScpServer;
  client: ServerChannel;
  target: ClientChannel;
  /** The target's SFTP session, for REALPATH and STAT; undefined when the target has none. */
  sftp: TargetSftp | undefined;
  /** The login's home directory (the target's REALPATH "."); undefined without SFTP. */
  home: string | undefined;
  clearPan: 'block' | 'allow';
  /** Whether the client connection has closed (nothing more is decided). */
  gone(): boolean;
}

/** Why the relay stopped the exchange (the client is told on stderr, the channel ends), or undefined. */
export type RelayEnd = string | undefined;

type Reply = { ok: true } | { ok: false; fatal: boolean; message: string };

class Stop extends Error {}

type Channel = NodeJS.WritableStream & { once(e: 'drain' | 'close', f: () => void): unknown; off(e: 'drain' | 'close', f: () => void): unknown; writable?: boolean };

/** Writes to one side; rejects (Stop) when that side has closed, so a relay waiting on a gone peer ends. */
function write(to: NodeJS.WritableStream, data: Buffer): Promise<void> {
  const ch = to as Channel;
  if (ch.writable === false) return Promise.reject(new Stop('the other side closed the channel'));
  if (data.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (ch.write(data)) return resolve();
    const drained = () => {
      ch.off('close', closed);
      resolve();
    };
    const closed = () => {
      ch.off('drain', drained);
      reject(new Stop('the other side closed the channel'));
    };
    ch.once('drain', drained);
    ch.once('close', closed);
  });
}

/**
 * The download scan: bytes are passed on only once LOOK bytes after them have been scanned too. Each push
 * scans the LOOK bytes sent last, the bytes held back and the new chunk, in one window (one copy).
 */
class PanHoldback {
  private behind: Buffer = Buffer.alloc(0);
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, final: boolean): { send: Buffer; pan: boolean } {
    const window = this.behind.length + this.pending.length ? Buffer.concat([this.behind, this.pending, chunk]) : chunk;
    const from = this.behind.length;
    const pan = cardDataIn(window).some((m) => m.end > from);
    const held = window.length - from;
    const n = final ? held : Math.max(0, held - LOOK);
    const send = window.subarray(from, from + n);
    this.pending = window.subarray(from + n);
    this.behind = window.subarray(Math.max(0, from + n - LOOK), from + n);
    return { send, pan };
  }
}

export class ScpRelay {
  private readonly fromClient: ScpReader;
  private readonly fromTarget: ScpReader;
  private readonly dirs: string[] = [];
  /** The file whose bytes are moving, finished as aborted if the exchange ends inside it. */
  private current: Transfer | undefined;

  constructor(private readonly o: ScpRelayOptions) {
    this.fromClient = new ScpReader(o.client);
    this.fromTarget = new ScpReader(o.target);
  }

  /** The channel is closing: the file whose bytes are moving is recorded as aborted (once). */
  abort(reason: string): void {
    this.current?.finish('aborted', reason);
  }

  /** Runs the exchange to its end. */
  async run(): Promise<RelayEnd> {
    try {
      await (this.o.server.mode === 'sink' ? this.upload() : this.download());
      return undefined;
    } catch (e) {
      this.current?.finish('aborted', e instanceof Error ? e.message : String(e));
      if (e instanceof Stop) return e.message;
      if (e instanceof ScpProtocolError) {
        this.o.session.record({ type: 'error', kind: 'protocol', code: e.code, message: e.message, channel: this.o.channel });
        return `refused: ${e.message}; Vigil ends the scp transfer`;
      }
      throw e;
    }
  }

  /** A status reply from one side, passed on to the other as it was. Null: that side ended. */
  private async reply(from: ScpReader, to: NodeJS.WritableStream): Promise<Reply | null> {
    const b = await from.byte();
    if (b === null) return null;
    if (b === 0) {
      await write(to, Buffer.from([0]));
      return { ok: true };
    }
    if (b !== 1 && b !== 2) throw new ScpProtocolError('an scp status reply that is neither ok, a warning nor an error');
    const line = await from.line(MAX_LINE);
    if (line === null) throw new ScpProtocolError('the scp stream ended inside a status reply');
    await write(to, Buffer.concat([Buffer.from([b]), line, Buffer.from('\n')]));
    return { ok: false, fatal: b === 2, message: this.o.session.masks.evidence(line.toString('utf8')) };
  }

  private async resolve(p: string): Promise<ResolvedPath> {
    const { sftp, home } = this.o;
    if (!p.startsWith('/') && home === undefined) throw new Stop('refused: the target has no SFTP subsystem, so Vigil cannot resolve a relative scp path; give an absolute path');
    const realpath = sftp ? (x: string) => sftp.realpath(x) : () => Promise.reject(new Error('no sftp'));
    return resolvePath(home ?? '/', p, realpath);
  }

  /** Both resolutions when Vigil cannot tell which one the sink uses: a block rule matches either, an allow needs both. */
  private async either(paths: string[]): Promise<ResolvedPath> {
    const all = await Promise.all(paths.map((p) => this.resolve(p)));
    return { shown: all[0]!.shown, objects: [...new Set(all.flatMap((r) => r.objects))] };
  }

  /** Whether the sink's target path is a directory (then the sender's names are used below it). */
  private async targetIsDirectory(lexical: string): Promise<boolean | undefined> {
    if (this.o.server.targetIsDirectory) return true;
    if (!this.o.sftp) return undefined;
    try {
      // S_IFDIR in the mode the target reports.
      return ((await this.o.sftp.stat(lexical)).mode & 0o170000) === 0o040000;
    } catch {
      return false;
    }
  }

  private async gate(op: Parameters<typeof decideOperation>[2]): Promise<{ ok: true; id: number } | { ok: false; message: string }> {
    const g = await decideOperation(this.o, 'scp', op);
    if (this.o.gone()) throw new Stop('the session ended');
    return g.ok ? g : { ok: false, message: g.message };
  }

  /** A line to the receiving side (the target for an upload, the client for a download), its reply relayed back. */
  private async toReceiver(whole: Buffer, direction: 'upload' | 'download'): Promise<Reply | null> {
    const upload = direction === 'upload';
    await write(upload ? this.o.target : this.o.client, whole);
    return this.reply(upload ? this.fromTarget : this.fromClient, upload ? this.o.client : this.o.target);
  }

  /** A times or end-of-directory line, passed on; false when the exchange ended. */
  private async control(line: Extract<ScpLine, { kind: 'times' | 'end-dir' }>, whole: Buffer, direction: 'upload' | 'download'): Promise<boolean> {
    if (line.kind === 'end-dir' && this.dirs.pop() === undefined) throw new ScpProtocolError('an scp end-of-directory line outside a directory');
    return (await this.toReceiver(whole, direction)) !== null;
  }

  /**
   * Passes a decided file or directory line on to its receiver and relays the reply: `data` (a file's bytes
   * follow), `next` (the receiver refused it, or it was a directory: read the next line) or `end`.
   */
  private async offer(line: Extract<ScpLine, { kind: 'file' | 'dir' }>, whole: Buffer, path: ResolvedPath, command: number, direction: 'upload' | 'download'): Promise<'data' | 'next' | 'end'> {
    const r = await this.toReceiver(whole, direction);
    if (r === null) return 'end';
    if (!r.ok) {
      if (line.kind === 'file') new Transfer(this.o.session, path.shown, direction, { channel: this.o.channel, command }).finish('failed', `the ${direction === 'upload' ? 'target' : 'client'} refused it: ${r.message}`);
      return r.fatal ? 'end' : 'next';
    }
    if (line.kind === 'dir') {
      this.dirs.push(path.shown);
      if (this.dirs.length > MAX_DEPTH) throw new ScpProtocolError(`directories nested deeper than ${MAX_DEPTH}`);
      return 'next';
    }
    return 'data';
  }

  /** Client → target: the client's scp sends, the target's `scp -t` receives. */
  private async upload(): Promise<void> {
    const { client, target, server } = this.o;
    const ready = await this.reply(this.fromTarget, client);
    if (!ready || !ready.ok) return;
    const top = lexicalPath(this.o.home ?? '/', server.paths[0]!);
    for (;;) {
      const raw = await this.fromClient.line(MAX_LINE);
      if (raw === null) {
        target.end();
        return;
      }
      const line = parseScpLine(raw);
      const whole = Buffer.concat([raw, Buffer.from('\n')]);
      if (line.kind === 'message') {
        // The sender could not read a file: the sink prints it and goes on, with no reply.
        await write(target, whole);
        if (line.fatal) return;
        continue;
      }
      if (line.kind === 'times' || line.kind === 'end-dir') {
        if (!(await this.control(line, whole, 'upload'))) return;
        continue;
      }
      if (line.kind === 'dir' && !server.recursive) throw new ScpProtocolError('a directory sent to scp without -r');
      const parent = this.dirs[this.dirs.length - 1];
      let path: ResolvedPath;
      if (parent !== undefined) path = await this.resolve(posix.join(parent, line.name));
      else {
        const isDir = await this.targetIsDirectory(top);
        path = isDir === undefined ? await this.either([top, posix.join(top, line.name)]) : await this.resolve(isDir ? posix.join(top, line.name) : top);
      }
      const op = line.kind === 'file' ? openOperation('scp', path, OPEN_FLAGS.WRITE | OPEN_FLAGS.CREAT | OPEN_FLAGS.TRUNC) : pathOperation('scp', 'mkdir', path);
      const g = await this.gate(op);
      if (!g.ok) {
        // Answered for the target, which never sees the line: the client skips this file (or directory).
        await write(client, statusLine(false, g.message));
        continue;
      }
      const next = await this.offer(line, whole, path, g.id, 'upload');
      if (next === 'end') return;
      if (next === 'next' || line.kind !== 'file') continue;
      const t = (this.current = new Transfer(this.o.session, path.shown, 'upload', { channel: this.o.channel, command: g.id }));
      let left = line.size;
      while (left > 0) {
        const c = await this.fromClient.chunk(left);
        if (c === null) {
          t.finish('aborted', 'the client ended the stream inside the file');
          target.end();
          return;
        }
        t.add(line.size - left, c);
        left -= c.length;
        await write(target, c);
      }
      const sent = await this.reply(this.fromClient, target);
      const ack = sent ? await this.reply(this.fromTarget, client) : null;
      if (sent === null || ack === null) {
        t.finish('aborted', 'the exchange ended before the file was acknowledged');
        return;
      }
      if (!sent.ok) t.finish('failed', `the client reported: ${sent.message}`);
      else if (!ack.ok) t.finish('failed', `the target reported: ${ack.message}`);
      else t.finish('complete');
      if ((!sent.ok && sent.fatal) || (!ack.ok && ack.fatal)) return;
    }
  }

  /** Target → client: the target's `scp -f` sends, the client's scp receives. */
  private async download(): Promise<void> {
    const { client, target, server } = this.o;
    const go = await this.reply(this.fromClient, target);
    if (!go || !go.ok) return;
    let arg = 0;
    for (;;) {
      const raw = await this.fromTarget.line(MAX_LINE);
      if (raw === null) return;
      const line = parseScpLine(raw);
      const whole = Buffer.concat([raw, Buffer.from('\n')]);
      if (line.kind === 'message') {
        // The source could not send one of the files asked for ("No such file"): the client prints it.
        await write(client, whole);
        if (this.dirs.length === 0) arg++;
        if (line.fatal) return;
        continue;
      }
      if (line.kind === 'times' || line.kind === 'end-dir') {
        if (!(await this.control(line, whole, 'download'))) return;
        continue;
      }
      if (line.kind === 'dir' && !server.recursive) throw new ScpProtocolError('the target sent a directory to a copy without -r');
      const parent = this.dirs[this.dirs.length - 1];
      let lexical: string;
      if (parent !== undefined) lexical = posix.join(parent, line.name);
      else {
        const asked = server.paths[arg++];
        if (asked === undefined) throw new ScpProtocolError('the target sent more files than the client asked for');
        if (sourceName(asked) !== line.name) throw new ScpProtocolError('the target sent a file the client did not ask for');
        lexical = asked;
      }
      const path = await this.resolve(lexical);
      const op = line.kind === 'file' ? openOperation('scp', path, OPEN_FLAGS.READ) : pathOperation('scp', 'opendir', path);
      const g = await this.gate(op);
      if (!g.ok) {
        // The target's scp skips it (a warning in reply), and the client is told why.
        await write(target, statusLine(false, 'vigil: refused'));
        await write(client, statusLine(false, g.message));
        continue;
      }
      const next = await this.offer(line, whole, path, g.id, 'download');
      if (next === 'end') return;
      if (next === 'next' || line.kind !== 'file') continue;
      await this.downloadData(path, line.size, g.id);
    }
  }

  private async downloadData(path: ResolvedPath, size: number, command: number): Promise<void> {
    const { client, target } = this.o;
    const t = (this.current = new Transfer(this.o.session, path.shown, 'download', { channel: this.o.channel, command }));
    const scan = new PanHoldback();
    let left = size;
    let offset = 0;
    while (left > 0) {
      const c = await this.fromTarget.chunk(left);
      if (c === null) {
        t.finish('aborted', 'the target ended the stream inside the file');
        return;
      }
      left -= c.length;
      const { send, pan } = scan.push(c, left === 0);
      if (pan && this.o.clearPan === 'block') {
        t.finish('blocked', 'the file holds a clear card number (policy ssh.transfers.clearPan: block)');
        throw new Stop(PAN_BLOCKED.replace(/^vigil: /, ''));
      }
      if (pan) t.note = 'the file holds a clear card number, delivered as policy ssh.transfers.clearPan: allow permits';
      t.add(offset, send);
      offset += send.length;
      await write(client, send);
    }
    const sent = await this.reply(this.fromTarget, client);
    const ack = sent ? await this.reply(this.fromClient, target) : null;
    if (sent === null || ack === null) t.finish('aborted', 'the exchange ended before the file was acknowledged');
    else if (!sent.ok) t.finish('failed', `the target reported: ${sent.message}`);
    else if (!ack.ok) t.finish('failed', `the client reported: ${ack.message}`);
    else t.finish('complete');
  }
}
