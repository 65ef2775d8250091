/**
 * The `sftp` subsystem (also what OpenSSH's `scp` uses by default since 9.0). Not yet governed: the request
 * is refused (the client says "subsystem request failed"), and the refusal recorded.
 */
import type { AcceptSftpConnection, RejectConnection } from 'ssh2';
import type { SessionChannelContext } from './session-channel.ts';

export async function runSftp(ctx: SessionChannelContext, _accept: AcceptSftpConnection, reject: RejectConnection, _notes: readonly string[]): Promise<void> {
  ctx.refused('the sftp subsystem', 'the sftp subsystem (sftp, scp) is not supported by this Vigil version; see docs/ssh-gateway.md');
  reject();
}
