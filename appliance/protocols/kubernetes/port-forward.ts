/**
 * Port-forward over WebSocket (kubectl 1.31+: SPDY/3.1 frames tunnelled in WebSocket binary messages,
 * subprotocol `SPDY/3.1+portforward.k8s.io`). Not relayed in this version: refused in-band.
 */
import type { PipelineSession } from '../../pipeline/session.ts';
import { CH_ERROR } from './exec-stream.ts';
import { statusBody } from './status.ts';
import type { WsConnection } from './websocket.ts';

export const PORT_FORWARD_TUNNEL = 'SPDY/3.1+portforward.k8s.io';

export interface PortForwardOptions {
  session: PipelineSession;
  command: number;
  pod: string;
  onEnd(): void;
}

export class PortForwardStream {
  private ended = false;
  constructor(
    private readonly client: WsConnection,
    private readonly o: PortForwardOptions,
  ) {}

  fromClient(_binary: boolean, _data: Buffer): void {}
  fromUpstream(_binary: boolean, _data: Buffer): void {}
  attach(_up: WsConnection): void {
    this.refuse(403, 'Forbidden', 'port-forward is not relayed by this Vigil version');
  }
  refuse(code: number, _reason: string, message: string): void {
    if (this.ended) return;
    this.client.send([Buffer.of(CH_ERROR), Buffer.from(statusBody(code, message))]);
    this.end(message);
  }
  end(reason: string, _code = 1000, _clientGone = false): void {
    if (this.ended) return;
    this.ended = true;
    this.o.session.record({ type: 'result', command: this.o.command, status: 101, stream: 'portforward', end: reason });
    this.client.close(1000);
    this.o.onEnd();
  }
}
