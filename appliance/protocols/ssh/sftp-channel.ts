/**
 * The `sftp` subsystem (also what OpenSSH's `scp` uses by default since 9.0): Vigil opens the target's own
 * SFTP subsystem and proxies every request (sftp-proxy.ts), deciding each file operation by policy and
 * recording each file transfer. The channel is recorded as `channel.open` kind `subsystem`, command `sftp`.
 *
 * Two ways to carry the packets, the same proxy and policy behind both: Vigil's own framing of the raw
 * subsystem channels (sftp-frame-server.ts, sftp-frame-target.ts; the default), or ssh2's SFTP classes
 * (`VIGIL_SSH_SFTP_FRAMING=ssh2`, kept as a fallback while the framing is new).
 */
import type { Duplex } from 'node:stream';
import type { AcceptSftpConnection, Client, ServerChannel, SFTPWrapper } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import { sshPolicyOf } from './policy-config.ts';
import type { SessionChannelContext } from './session-channel.ts';
import { FrameServer, MAX_RECORDED_REFUSALS, type SftpClientEnd } from './sftp-frame-server.ts';
import { FrameTarget } from './sftp-frame-target.ts';
import { SftpProxy, type SftpTargetSide } from './sftp-proxy.ts';
import { TargetSftp, type SftpTarget } from './sftp-target.ts';

/** Which implementation carries SFTP packets (read at each channel, so a test or an operator can switch). */
export function sftpFraming(): 'vigil' | 'ssh2' {
  return process.env['VIGIL_SSH_SFTP_FRAMING'] === 'ssh2' ? 'ssh2' : 'vigil';
}

/** OpenSSH and dropbear swap SYMLINK's two paths (as ssh2 tells them apart: by the version banner). */
function isOpenSsh(ident: unknown): boolean {
  return /^SSH-2\.0-(?:OpenSSH|dropbear)/.test(String(ident ?? ''));
}
const identOf = (c: unknown) => (c as { _protocol?: { _remoteIdentRaw?: unknown } })._protocol?._remoteIdentRaw;

interface Ends {
  client: SftpClientEnd;
  /** Opens the target's SFTP end on `up`; `lost` is called if it fails later. */
  openTarget(up: Client, lost: (reason: string) => void): Promise<{ target: SftpTarget; end(): void }>;
  /** An exit status, as sshd sends when its sftp-server ends (scp in SFTP mode takes a missing one for a failure). */
  exit(status: number): void;
  end(): void;
  /** Refusals on the wire not recorded one by one. */
  unrecorded(): number;
  on(ev: 'close' | 'end', fn: () => void): void;
  onProtocolError(fn: (reason: string) => void): void;
}

function ssh2Ends(accept: AcceptSftpConnection): Ends | undefined {
  const client = accept() as SFTPWrapper | undefined;
  if (!client) return undefined;
  return {
    client,
    async openTarget(up, lost) {
      const raw = await new Promise<SFTPWrapper>((resolve, fail) => up.sftp((err, s) => (err ? fail(err) : resolve(s))));
      raw.on('close', () => lost('the target closed its sftp subsystem'));
      raw.on('error', () => lost('target sftp error'));
      return { target: new TargetSftp(raw), end: () => raw.end() };
    },
    exit(status) {
      const c = client as unknown as { _protocol: { exitStatus(id: number, status: number): void }; outgoing: { id: number; state: string } };
      if (c.outgoing.state === 'open') c._protocol.exitStatus(c.outgoing.id, status);
    },
    end: () => client.end(),
    unrecorded: () => 0,
    on: (ev, fn) => void client.on(ev, fn),
    onProtocolError: (fn) => void client.on('error', () => fn('client sftp protocol error')),
  };
}

function framedEnds(ctx: SessionChannelContext, accept: () => ServerChannel): Ends | undefined {
  const ch = accept() as ServerChannel | undefined;
  if (!ch) return undefined;
  let protocolError: (reason: string) => void = () => undefined;
  const masked = (s: string) => ctx.session.masks.evidence(s);
  const client = new FrameServer(ch as unknown as Duplex, isOpenSsh(identOf((ch as unknown as { _client: unknown })._client)), (reason) => protocolError(reason), (request, message) => ctx.refused(masked(request), masked(message)));
  return {
    client,
    async openTarget(up, lost) {
      const raw = await new Promise<Duplex>((resolve, fail) => up.subsys('sftp', (err, s) => (err ? fail(err) : resolve(s as unknown as Duplex))));
      raw.on('error', () => lost('target sftp error'));
      const target = new FrameTarget(raw, isOpenSsh(identOf(up)), (reason) => lost(reason.startsWith('the target closed') ? reason : `target sftp error: ${reason}`));
      await target.ready;
      return { target, end: () => target.end() };
    },
    exit: (status) => void ch.exit(status),
    end: () => void ch.end(),
    unrecorded: () => client.unrecorded,
    on: (ev, fn) => void ch.on(ev, fn),
    onProtocolError: (fn) => {
      protocolError = fn;
      ch.on('error', () => fn('client sftp channel error'));
    },
  };
}

/** Runs the sftp subsystem; `accept` is ssh2's sftp accept (ssh2 framing) or the raw subsystem accept (Vigil's). */
export async function runSftp(ctx: SessionChannelContext, accept: AcceptSftpConnection | (() => ServerChannel), _notes: readonly string[]): Promise<void> {
  const { session } = ctx;
  // Accepted at once: OpenSSH sends its SFTP INIT right after the request, and ssh2 drops channel data that
  // arrives before the accept. Requests wait in the proxy until the target side is open.
  const ends = sftpFraming() === 'ssh2' ? ssh2Ends(accept as AcceptSftpConnection) : framedEnds(ctx, accept as () => ServerChannel);
  if (!ends) return;
  const channel = ctx.book.allocate();
  session.record({ type: 'channel.open', channel, kind: 'subsystem', command: 'sftp' });
  let target: { end(): void } | undefined;
  const side = (async (): Promise<SftpTargetSide | { error: string }> => {
    const up = await ctx.upstream();
    if (!up.ok) {
      ctx.refused('the sftp subsystem', up.reason);
      return { error: up.reason };
    }
    let t: SftpTarget;
    try {
      const opened = await ends.openTarget(up.client, (reason) => finish(reason));
      target = opened;
      t = opened.target;
    } catch (e) {
      session.record({ type: 'error', kind: 'target', code: 'sftp-failed', message: `the target refused the sftp subsystem: ${describeError(e)}` });
      return { error: 'the target refused the sftp subsystem' };
    }
    const home = await t.realpath('.').catch(() => '/');
    return { target: t, home };
  })();
  const proxy = new SftpProxy({ session, channel, abort: ctx.abort, logger: ctx.logger, client: ends.client, clearPan: sshPolicyOf(session.policy?.config).transfers.clearPan }, side);
  let closed = false;
  const finish = (reason?: string) => {
    if (closed) return;
    closed = true;
    ctx.book.open.delete(channel);
    ctx.book.lastActivity = Date.now();
    void proxy.end(reason ?? 'the sftp session ended before the file was closed').then(() => {
      session.recordMasking(undefined);
      const more = ends.unrecorded();
      if (more) ctx.refused('further malformed or unsupported SFTP requests', `${more} more were refused on the wire (only the first ${MAX_RECORDED_REFUSALS} are recorded one by one)`);
      session.record({ type: 'channel.close', channel, exitStatus: reason ? 1 : 0, exitSignal: null, ...(reason ? { reason } : {}) });
      for (const step of [() => ends.exit(reason ? 1 : 0), () => target?.end(), () => ends.end()]) {
        try {
          step();
        } catch {
          /* already closed */
        }
      }
    });
  };
  ctx.book.open.set(channel, (reason) => finish(reason));
  ends.on('close', () => finish());
  ends.on('end', () => finish());
  ends.onProtocolError((reason) => finish(reason));
  // Without a target side the channel ends after the first refusal has been sent (the client says why it closed).
  if ('error' in (await side)) setTimeout(() => finish('refused'), 200);
}
