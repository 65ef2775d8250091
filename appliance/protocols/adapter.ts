/**
 * What a protocol adapter is: one folder under appliance/protocols/ exporting one of these, listed once in
 * registry.ts. The config schema (listeners.<name>, the targets list), `vigil init` and the gateway are
 * built from the registry, so adding a protocol touches only its folder and one registry line. An adapter
 * translates its wire protocol into the session pipeline's calls and back; identity, policy, approvals,
 * masking and recording are the pipeline's, the same for every protocol (docs/architecture.md).
 */
import type { z } from 'zod';
import type { evidenceSchema } from '../config/schema.ts';
import type { LegacyMapping } from '../policy/config.ts';
import type { JwtVerifierRegistry, MtlsConfig } from '../identity/index.ts';
import type { AppLogger } from '../logger.ts';
import type { SessionPipeline } from '../pipeline/session.ts';
import type { ApiRoute } from '../admin/routes.ts';
import type { LogEntryType } from '../../shared/evidence/log-entry.ts';

/** What every target has, whatever its protocol: the name clients select it by and its protocol. */
export interface TargetBase<N extends string = string> {
  name: string;
  protocol: N;
}

/** The parts of vigil.yaml outside its own blocks that an adapter may read. */
export interface SharedConfig {
  mtls: MtlsConfig | undefined;
  evidence: z.output<typeof evidenceSchema>;
}

/** Everything start() gets: its own listener block and targets, and the services every protocol shares. */
export interface ProtocolContext<L, T> {
  /** listeners.<name>, validated by the adapter's listenerSchema. */
  listener: L;
  /** The targets whose `protocol` is this adapter's name, by target name. */
  targets: ReadonlyMap<string, T>;
  shared: SharedConfig;
  pipeline: SessionPipeline;
  identity: JwtVerifierRegistry;
  /** The appliance's keyed-hash key (token and command fingerprints). */
  fingerprintKey: Uint8Array;
  /** The appliance-wide tamper-evident log, for what happens outside a session (e.g. a credential issued). */
  log: { append(type: LogEntryType, fields: Record<string, unknown>): unknown };
  resolvePath(p: string): string;
  logger: AppLogger;
}

/** A started protocol: its listener and whatever services it runs for its sessions. */
export interface RunningProtocol {
  /** Where it listens (the port the OS chose for :0). */
  readonly address: { host: string; port: number };
  /** Open client connections. */
  readonly connections: number;
  /** Connections still authenticating and authenticated sessions, as admission (net/admission.ts) counts them. */
  readonly admitted: { unauthenticated: number; authenticated: number };
  /** Endpoints it adds to the admin HTTPS API (listeners.admin), e.g. the SSH certificate issuer. */
  readonly routes?: readonly ApiRoute[];
  /** Stops accepting new connections, leaving open ones be (graceful shutdown drains them before close()). */
  stopAccepting(): void;
  /** Stops accepting, ends every connection (each seals its session) and releases the adapter's services. */
  close(): Promise<void>;
}

/** Reports a problem with the configuration at an absolute key path (e.g. ['listeners', 'postgres', 'tls']). */
export type ConfigIssue = (path: (string | number)[], message: string) => void;

export interface ProtocolAdapter<N extends string = string, L extends z.ZodType = z.ZodType, T extends z.ZodType<TargetBase<N>> = z.ZodType<TargetBase<N>>> {
  /** The key under `listeners:` and the value of a target's `protocol:`; lower case. */
  readonly name: N;
  /** How people name it, for messages and docs ("PostgreSQL"). */
  readonly title: string;
  /** listeners.<name>: where and how it listens, its connection limits. */
  readonly listenerSchema: L;
  /** One entry of `targets:` with `protocol: <name>`; a strict object with `protocol: z.literal(name)`. */
  readonly targetSchema: T;
  /** What `vigil init` writes for it: its listener block and a commented target example. */
  readonly init: {
    /** YAML lines under `listeners:` (indented by two spaces), or '' to write none. */
    listener(o: { tls: boolean }): string;
    /** A commented-out example entry for `targets:` (each line starting with `#  `). */
    targetExample: string;
    /** Writes the files its listener block names (e.g. a host key) in the new appliance directory; returns lines to print. */
    files?(dir: string): string[];
  };
  /**
   * `policies[].<name>`: its own policy settings (the neutral rules decide commands; this holds the rest),
   * and `legacy`, which maps keys that moved there from elsewhere in a policy (docs/configuration.md).
   */
  readonly policy?: { schema: z.ZodType; legacy?: LegacyMapping };
  /** `evidence.<name>`: its own recording settings, and keys that moved there from `evidence:`. */
  readonly evidence?: { schema: z.ZodType; legacy?: LegacyMapping };
  /** Checks across sections the schemas cannot see alone (e.g. a listener option needing `mtls:`). */
  check?(listener: z.output<L> | undefined, shared: SharedConfig, issue: ConfigIssue): void;
  /** Starts its listener and services; the gateway calls it only when listeners.<name> is configured. */
  start(ctx: ProtocolContext<z.output<L>, z.output<T>>): Promise<RunningProtocol>;
}

/** An adapter of any protocol, as the registry holds them (methods are compared bivariantly). */
export type AnyProtocolAdapter = ProtocolAdapter<string, z.ZodType, z.ZodType<TargetBase>>;
