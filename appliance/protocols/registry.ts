/**
 * Every protocol this appliance speaks, one line each (adapter.ts says what an adapter is). The config
 * schema, `vigil init` and the gateway are built from this list; nothing else names a protocol.
 */
import type { AnyProtocolAdapter } from './adapter.ts';
import { kubernetesAdapter } from './kubernetes/adapter.ts';
import { postgresAdapter } from './postgres/adapter.ts';
import { sshAdapter } from './ssh/adapter.ts';

export const PROTOCOLS = [
  postgresAdapter,
  sshAdapter,
  kubernetesAdapter,
] as const satisfies readonly AnyProtocolAdapter[];

export type ProtocolName = (typeof PROTOCOLS)[number]['name'];
