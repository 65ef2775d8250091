/**
 * An allowed `scp -t`/`scp -f` exec, once the target runs it: the target's SFTP subsystem is opened beside it
 * (to resolve paths as the target does: the home directory, symlinks, whether the target path is a directory),
 * then the scp protocol is relayed (scp-relay.ts). Resolves with why Vigil stopped the exchange, if it did:
 * the client is told on stderr and the target's scp is closed.
 */
import type { Client, ClientChannel, ServerChannel, SFTPWrapper } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import type { ExecContext } from './exec-channel.ts';
import { sshPolicyOf } from './policy-config.ts';
import type { ScpServer } from './scp-command.ts';
import { ScpRelay } from './scp-relay.ts';
import { TargetSftp } from './sftp-target.ts';

const SFTP_OPEN_MS = 10_000;

function openSftp(target: Client): Promise<SFTPWrapper | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), SFTP_OPEN_MS);
    target.sftp((err, s) => {
      clearTimeout(timer);
      resolve(err ? undefined : s);
    });
  });
}

/**
 * `done`: why Vigil stopped the exchange, if it did. `abort`: the channel is closing (the connection went
 * away): the file in the middle of its transfer is recorded as aborted now, before the channel's close.
 */
export function startScpRelay(ctx: ExecContext, target: Client, server: ScpServer, client: ServerChannel, up: ClientChannel, channel: number): { done: Promise<string | undefined>; abort(reason: string): void } {
  let relay: ScpRelay | undefined;
  let aborted: string | undefined;
  const done = run(ctx, target, server, client, up, channel, (r) => {
    relay = r;
    if (aborted) r.abort(aborted);
  });
  return {
    done,
    abort: (reason) => {
      aborted = reason;
      relay?.abort(reason);
    },
  };
}

async function run(ctx: ExecContext, target: Client, server: ScpServer, client: ServerChannel, up: ClientChannel, channel: number, started: (r: ScpRelay) => void): Promise<string | undefined> {
  const { session } = ctx;
  // Nothing is read from either side until the relay starts: both streams stay paused (within the window).
  up.pause();
  client.pause();
  // A write racing the other side's close must not become an unhandled stream error.
  up.on('error', () => undefined);
  client.on('error', () => undefined);
  const raw = await openSftp(target);
  const sftp = raw ? new TargetSftp(raw) : undefined;
  const home = sftp ? await sftp.realpath('.').catch(() => undefined) : undefined;
  session.record({
    type: 'notice',
    kind: 'scp-protocol',
    channel,
    mode: server.mode === 'sink' ? 'upload' : 'download',
    message: `the legacy scp protocol: each file is decided by its path and recorded as a transfer; the file bytes are not recorded${sftp ? '' : ' (the target has no SFTP subsystem: only absolute paths are resolved, without symlinks)'}`,
  });
  const relay = new ScpRelay({
    session,
    channel,
    abort: ctx.abort,
    logger: ctx.logger,
    gone: ctx.gone,
    tellHeld: (m) => client.stderr.write(m),
    server,
    client,
    target: up,
    sftp,
    home,
    clearPan: sshPolicyOf(session.policy?.config).transfers.clearPan,
  });
  started(relay);
  let stopped: string | undefined;
  try {
    stopped = await relay.run();
  } catch (e) {
    ctx.logger.warn({ sessionId: session.id, err: describeError(e) }, 'scp relay failed');
    stopped = 'the scp transfer failed inside Vigil';
  }
  try {
    raw?.end();
  } catch {
    /* already closed */
  }
  if (stopped) {
    client.stderr.write(`vigil: ${stopped}\n`);
    up.close();
  }
  return stopped;
}
