/**
 * Admission tickets waiting for the server they were handed to. A bounded listener admits a raw socket and
 * gives it to a protocol server (ssh2's Server, Node's TLS server) that reports the connection later, by
 * its own object; the ticket is matched again by the peer's address and port. A socket that closes first
 * takes its ticket with it, and a ticket that ends (the admission deadline, a shutdown) destroys the socket.
 */
import type { Socket } from 'node:net';
import type { AdmissionTicket } from './admission.ts';

const keyOf = (address: string | undefined, port: number | undefined) => `${address ?? '?'}:${port ?? 0}`;

export class PendingTickets {
  private readonly pending = new Map<string, AdmissionTicket>();

  /** Holds `ticket` for `socket` until take() is called with its peer's address and port. */
  hold(socket: Socket, ticket: AdmissionTicket): void {
    const key = keyOf(socket.remoteAddress, socket.remotePort);
    this.pending.set(key, ticket);
    socket.once('close', () => {
      if (this.pending.get(key) === ticket) this.pending.delete(key);
    });
    ticket.onEnd(() => socket.destroy());
  }

  /** The ticket held for a connection from this peer, once; undefined when there is none (not admitted). */
  take(address: string | undefined, port: number | undefined): AdmissionTicket | undefined {
    const key = keyOf(address, port);
    const ticket = this.pending.get(key);
    this.pending.delete(key);
    return ticket;
  }
}
