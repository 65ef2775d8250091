/**
 * `direct-tcpip` channels (`ssh -L`, `ssh -W`, ProxyJump through Vigil). Not yet governed: refused, and the
 * refusal recorded.
 */
import type { SessionChannelContext } from './session-channel.ts';

export interface DirectTcpipInfo {
  destIP: string;
  destPort: number;
  srcIP: string;
  srcPort: number;
}

export function runDirectTcpip(ctx: Pick<SessionChannelContext, 'refused'>, _accept: () => unknown, reject: () => void, info: DirectTcpipInfo): void {
  ctx.refused(`port forwarding to ${info.destIP}:${info.destPort}`);
  reject();
}
