/**
 * The `sftp` subsystem (also what OpenSSH's `scp` uses by default since 9.0): Vigil opens the target's own
 * SFTP subsystem and proxies every request (sftp-proxy.ts), deciding each file operation by policy and
 * recording each file transfer. The channel is recorded as `channel.open` kind `subsystem`, command `sftp`.
 */
import type { AcceptSftpConnection, RejectConnection, SFTPWrapper } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import { sshPolicyOf } from './policy-config.ts';
import type { SessionChannelContext } from './session-channel.ts';
import { SftpProxy, type SftpTargetSide } from './sftp-proxy.ts';
import { TargetSftp } from './sftp-target.ts';

export async function runSftp(ctx: SessionChannelContext, accept: AcceptSftpConnection, _reject: RejectConnection, _notes: readonly string[]): Promise<void> {
  const { session } = ctx;
  // Accepted at once: OpenSSH sends its SFTP INIT right after the request, and ssh2 drops channel data that
  // arrives before the accept. Requests wait in the proxy until the target side is open.
  const client = accept() as SFTPWrapper | undefined;
  if (!client) return;
  const channel = ctx.book.allocate();
  session.record({ type: 'channel.open', channel, kind: 'subsystem', command: 'sftp' });
  let raw: SFTPWrapper | undefined;
  const side = (async (): Promise<SftpTargetSide | { error: string }> => {
    const up = await ctx.upstream();
    if (!up.ok) {
      ctx.refused('the sftp subsystem', up.reason);
      return { error: up.reason };
    }
    try {
      raw = await new Promise<SFTPWrapper>((resolve, fail) => up.client.sftp((err, s) => (err ? fail(err) : resolve(s))));
    } catch (e) {
      session.record({ type: 'error', kind: 'target', code: 'sftp-failed', message: `the target refused the sftp subsystem: ${describeError(e)}` });
      return { error: 'the target refused the sftp subsystem' };
    }
    raw.on('close', () => finish('the target closed its sftp subsystem'));
    raw.on('error', () => finish('target sftp error'));
    const target = new TargetSftp(raw);
    const home = await target.realpath('.').catch(() => '/');
    return { target, home };
  })();
  const proxy = new SftpProxy({ session, channel, abort: ctx.abort, logger: ctx.logger, client, clearPan: sshPolicyOf(session.policy?.config).transfers.clearPan }, side);
  let closed = false;
  const finish = (reason?: string) => {
    if (closed) return;
    closed = true;
    ctx.book.open.delete(channel);
    ctx.book.lastActivity = Date.now();
    void proxy.end(reason ?? 'the sftp session ended before the file was closed').then(() => {
      session.recordMasking(undefined);
      session.record({ type: 'channel.close', channel, exitStatus: reason ? 1 : 0, exitSignal: null, ...(reason ? { reason } : {}) });
      // As sshd does when its sftp-server ends: scp (SFTP mode) takes a missing exit status for a failure.
      try {
        const c = client as unknown as { _protocol: { exitStatus(id: number, status: number): void }; outgoing: { id: number; state: string } };
        if (c.outgoing.state === 'open') c._protocol.exitStatus(c.outgoing.id, reason ? 1 : 0);
      } catch {
        /* already closed */
      }
      for (const s of [raw, client]) {
        try {
          s?.end();
        } catch {
          /* already closed */
        }
      }
    });
  };
  ctx.book.open.set(channel, (reason) => finish(reason));
  client.on('close', () => finish());
  client.on('end', () => finish());
  client.on('error', () => finish('client sftp protocol error'));
  // Without a target side the channel ends after the first refusal has been sent (the client says why it closed).
  if ('error' in (await side)) setTimeout(() => finish('refused'), 200);
}
