/** HOST:PORT, the way vigil.yaml names every listening address (protocol listeners and the admin API). */
import { z } from 'zod';

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/;
const MESSAGE = 'expected HOST:PORT, e.g. 127.0.0.1:6432';

/** A listening address in vigil.yaml: a host name, IPv4 or bracketed IPv6, then a port (0 picks a free one). */
export const hostPort = z.string().regex(HOST_PORT, MESSAGE).refine((a) => Number(HOST_PORT.exec(a)?.[2]) <= 65_535, MESSAGE);

/** A HOST:PORT checked by `hostPort` as [host, port]; IPv6 brackets removed, as node:net expects. */
export function splitAddress(a: string): [string, number] {
  const i = a.lastIndexOf(':');
  return [a.slice(0, i).replace(/^\[|\]$/g, ''), Number(a.slice(i + 1))];
}
