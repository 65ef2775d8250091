/**
 * The client's end of an SFTP session, framed by Vigil (sftp-wire.ts) on the raw `subsystem` channel instead
 * of ssh2's SFTP server class: the same events and replies sftp-proxy.ts uses (`OPEN` with path, flags,
 * attrs; `READ` with handle, offset, length; …; `status`, `handle`, `data`, `name`, `attrs`), without ssh2's
 * per-packet overhead and its 34 000-byte answer limit. What Vigil does on the wire itself, and fails closed on:
 *   - INIT must come first, once; Vigil answers VERSION 3 advertising only `limits@openssh.com` (answered here,
 *     so OpenSSH sends READs and WRITEs of up to READ_LENGTH bytes); every other EXTENDED request is refused
 *     with OP_UNSUPPORTED naming it, and a packet type Vigil does not know with OP_UNSUPPORTED too;
 *   - a packet whose fields overrun it, or hold bytes after their last field (a length that lies), is refused
 *     with BAD_MESSAGE; a packet longer than MAX_PACKET ends the session (its bytes are never buffered);
 *   - a request id already in flight is refused with FAILURE (the first request keeps its answer);
 *   - at most MAX_IN_FLIGHT requests are processed at once, and the channel stops being read while its
 *     answers wait for the client's window: a client cannot make Vigil queue answers without bound.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Attributes, FileEntry } from 'ssh2';
import { attrsPacket, dataHeader, dataPacket, Fields, FXP, handlePacket, MAX_HANDLE, MAX_PACKET, namePacket, PacketFramer, SftpWireError, statusPacket, versionPacket, Writer } from './sftp-wire.ts';
import { STATUS } from './sftp-target.ts';

/** What sftp-proxy.ts needs of the client's end (ssh2's SFTPWrapper has it too). */
export interface SftpClientEnd {
  /** A request: its id, then its fields (which depend on the event). */
  on(ev: string, fn: (...args: never[]) => void): unknown;
  status(id: number, code: number, message?: string): void;
  handle(id: number, h: Buffer): void;
  data(id: number, d: Buffer): void;
  /** A DATA answer given as pieces totalling `length` bytes (written without joining them). */
  dataParts?(id: number, parts: readonly Buffer[], length: number): void;
  name(id: number, list: FileEntry[]): void;
  attrs(id: number, a: Attributes): void;
}

/** The largest READ answered and WRITE accepted: OpenSSH's own (SFTP_MAX_MSG_LENGTH − 1024). */
export const READ_LENGTH = MAX_PACKET - 1024;
export const MAX_IN_FLIGHT = 128;
/** Wire-level refusals recorded one by one per channel; past that they are counted (a flood cannot flood the archive). */
export const MAX_RECORDED_REFUSALS = 32;
const HANDLES_ADVERTISED = 256;

const PATH_EVENTS: Record<number, string> = { [FXP.LSTAT]: 'LSTAT', [FXP.STAT]: 'STAT', [FXP.OPENDIR]: 'OPENDIR', [FXP.REMOVE]: 'REMOVE', [FXP.RMDIR]: 'RMDIR', [FXP.REALPATH]: 'REALPATH', [FXP.READLINK]: 'READLINK' };
const HANDLE_EVENTS: Record<number, string> = { [FXP.CLOSE]: 'CLOSE', [FXP.FSTAT]: 'FSTAT', [FXP.READDIR]: 'READDIR' };

export class FrameServer extends EventEmitter implements SftpClientEnd {
  private readonly framer = new PacketFramer(MAX_PACKET);
  private initialized = false;
  private readonly inFlight = new Set<number>();
  private dead = false;
  private waitingDrain = false;
  /** Refusals not recorded one by one (past MAX_RECORDED_REFUSALS): told in one notice when the channel ends. */
  unrecorded = 0;
  private recorded = 0;

  /**
   * `openssh`: the client is OpenSSH (or dropbear), which sends SYMLINK's two paths in the other order.
   * `fatal` is called once when the stream cannot go on (the channel should end).
   */
  constructor(
    private readonly channel: Duplex,
    private readonly openssh: boolean,
    private readonly fatal: (reason: string) => void,
    /** Records what Vigil refused on the wire itself (the request and the message the client got). */
    private readonly refused: (request: string, message: string) => void = () => undefined,
  ) {
    super();
    channel.on('data', (chunk: Buffer) => this.feed(chunk));
    channel.on('drain', () => {
      this.waitingDrain = false;
      this.flow();
    });
  }

  override on(ev: string | symbol, fn: (...args: never[]) => void): this {
    return super.on(ev, fn as (...args: unknown[]) => void);
  }

  /** Requests received and not yet answered. */
  get pending(): number {
    return this.inFlight.size;
  }

  feed(chunk: Buffer): void {
    if (this.dead) return;
    let packets: Buffer[];
    try {
      packets = this.framer.push(chunk);
    } catch (e) {
      const id = (e as { requestId?: number }).requestId;
      if (id !== undefined && this.initialized) this.write(statusPacket(id, STATUS.BAD_MESSAGE, `vigil: ${(e as Error).message}`));
      return this.die(`client sftp protocol error: ${(e as Error).message}`);
    }
    for (const p of packets) {
      if (this.dead) return;
      this.dispatch(p);
    }
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.fatal(reason);
  }

  private dispatch(p: Buffer): void {
    const f = new Fields(p);
    if (!this.initialized) {
      if (f.type !== FXP.INIT) return this.die('client sftp protocol error: the first packet was not INIT');
      this.initialized = true;
      // The client's version and extensions do not matter: Vigil speaks version 3 (OpenSSH's only one).
      this.write(versionPacket([['limits@openssh.com', '1']]));
      return;
    }
    if (f.type === FXP.INIT) return this.die('client sftp protocol error: a second INIT');
    let id: number;
    try {
      id = f.u32('request id');
    } catch {
      return this.die('client sftp protocol error: a packet without a request id');
    }
    if (this.inFlight.has(id)) {
      const message = `vigil: request id ${id} is already in use by a request not yet answered`;
      this.note(`an SFTP request (type ${f.type}) reusing a request id`, message);
      this.write(statusPacket(id, STATUS.FAILURE, message));
      return;
    }
    this.inFlight.add(id);
    this.flow();
    try {
      this.request(f, id);
    } catch (e) {
      if (!(e instanceof SftpWireError)) throw e;
      this.refuse(id, STATUS.BAD_MESSAGE, `a malformed SFTP request (type ${f.type})`, `vigil: malformed request: ${e.message}`);
    }
  }

  private request(f: Fields, id: number): void {
    const handle = () => f.bytes('handle', MAX_HANDLE);
    const path = () => f.text('path');
    const t = f.type;
    const emit = (ev: string, ...args: unknown[]) => {
      f.end();
      if (!this.emit(ev, id, ...args)) this.status(id, STATUS.OP_UNSUPPORTED, `vigil: ${ev} is not supported`);
    };
    if (PATH_EVENTS[t]) return emit(PATH_EVENTS[t], path());
    if (HANDLE_EVENTS[t]) return emit(HANDLE_EVENTS[t], handle());
    switch (t) {
      case FXP.OPEN: {
        const p = path();
        const flags = f.u32('open flags');
        return emit('OPEN', p, flags, f.attrs());
      }
      case FXP.READ: {
        const h = handle();
        const off = f.u64('offset');
        // Never more than Vigil advertised: the DATA answer must fit in the client's largest packet.
        return emit('READ', h, off, Math.min(f.u32('length'), READ_LENGTH));
      }
      case FXP.WRITE: {
        const h = handle();
        const off = f.u64('offset');
        return emit('WRITE', h, off, f.bytes('data'));
      }
      case FXP.SETSTAT: {
        const p = path();
        return emit('SETSTAT', p, f.attrs());
      }
      case FXP.FSETSTAT: {
        const h = handle();
        return emit('FSETSTAT', h, f.attrs());
      }
      case FXP.MKDIR: {
        const p = path();
        return emit('MKDIR', p, f.attrs());
      }
      case FXP.RENAME: {
        const from = path();
        return emit('RENAME', from, path());
      }
      case FXP.SYMLINK: {
        const a = path();
        const b = path();
        // Emitted as (link, target) whichever order the client sent them in.
        return this.openssh ? emit('SYMLINK', b, a) : emit('SYMLINK', a, b);
      }
      case FXP.EXTENDED: {
        const name = f.bytes('extension name', 256).toString('utf8');
        if (name === 'limits@openssh.com') {
          f.end();
          const w = new Writer(FXP.EXTENDED_REPLY, 4 + 32).u32(id).u64(MAX_PACKET).u64(READ_LENGTH).u64(READ_LENGTH).u64(HANDLES_ADVERTISED);
          return this.reply(id, w.done());
        }
        // Its fields are not parsed: Vigil cannot say what it would do on the target, so it is not done.
        const shown = JSON.stringify(name.replace(/[^\x20-\x7e]/g, '?'));
        return this.refuse(id, STATUS.OP_UNSUPPORTED, `the SFTP extension ${shown}`, `vigil: the SFTP extension ${shown} is not supported through Vigil`);
      }
      default:
        return this.refuse(id, STATUS.OP_UNSUPPORTED, `an SFTP request of type ${t}`, `vigil: SFTP request type ${t} is not supported through Vigil`);
    }
  }

  private refuse(id: number, code: number, request: string, message: string): void {
    this.note(request, message);
    this.status(id, code, message);
  }

  private note(request: string, message: string): void {
    if (this.recorded >= MAX_RECORDED_REFUSALS) {
      this.unrecorded++;
      return;
    }
    this.recorded++;
    this.refused(request, message);
  }

  /** Sends the answer to request `id` (once: a second answer, or one to an id not asked, is dropped). */
  private reply(id: number, packet: Buffer): void {
    if (!this.inFlight.delete(id)) return;
    this.write(packet);
    this.flow();
  }

  private write(b: Buffer): void {
    if (this.dead && !this.channel.writable) return;
    try {
      if (!this.channel.write(b)) this.waitingDrain = true;
    } catch {
      /* the channel is gone */
    }
  }

  /** Reads the channel only while fewer than MAX_IN_FLIGHT requests wait and the client takes its answers. */
  private flow(): void {
    if (this.inFlight.size >= MAX_IN_FLIGHT || this.waitingDrain) this.channel.pause();
    else if (this.channel.isPaused()) this.channel.resume();
  }

  status(id: number, code: number, message?: string): void {
    this.reply(id, statusPacket(id, code, message));
  }
  handle(id: number, h: Buffer): void {
    this.reply(id, handlePacket(id, h));
  }
  data(id: number, d: Buffer): void {
    this.reply(id, dataPacket(id, d));
  }
  dataParts(id: number, parts: readonly Buffer[], length: number): void {
    if (!this.inFlight.delete(id)) return;
    // The 13-byte header, then the views: ssh2 copies each into its channel packets anyway.
    this.write(dataHeader(id, length));
    for (const p of parts) this.write(p);
    this.flow();
  }
  name(id: number, list: FileEntry[]): void {
    this.reply(id, namePacket(id, list));
  }
  attrs(id: number, a: Attributes): void {
    this.reply(id, attrsPacket(id, a));
  }
}
