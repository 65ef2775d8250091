/**
 * What an SSH session's events say, read for the viewer: its channels (what each ran, how it ended), its
 * commands with the decision that counted, file transfers, port forwards, and the identity facts of both
 * logins (the client's certificate or key, Vigil's per-session certificate to the target). DOM-free.
 * Unknown stays unknown: a value the archive does not hold is `null`, never a made-up 0.
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { num, str } from './digest.ts';

export function isSsh(events: readonly EvidenceEvent[]): boolean {
  return events.some((e) => (e.type === 'session.open' && e.protocol === 'ssh') || e.type === 'channel.open');
}

export interface SshChannel {
  /** Index among the session's channel.open events: a channel number may be used again after its close. */
  key: number;
  channel: number;
  kind: string;
  command?: string;
  pty?: { term?: string; cols: number; rows: number };
  openT: number;
  /** null: no channel.close recorded (the archive ends first, or the session was cut). */
  closeT: number | null;
  closed: boolean;
  /** null when not recorded (the target did not say, or no close). */
  exitStatus: number | null;
  exitSignal: string | null;
  reason?: string;
  outputBytes: number;
  inputBytes: number;
  /** Input bytes typed at a password prompt, recorded as a count only. */
  withheld: number;
  commands: number[];
}

/** Channels in the order they opened. Events naming a channel go to its latest open with that number. */
export function sshChannels(events: readonly EvidenceEvent[]): SshChannel[] {
  const out: SshChannel[] = [];
  const open = new Map<number, SshChannel>();
  // An exec's command is recorded (and decided) just before its channel.open; a shell's lines while it is open.
  const pending = new Map<number, number[]>();
  for (const e of events) {
    const t = num(e.t) ?? 0;
    const ch = num(e.channel);
    if (e.type === 'command' && ch !== undefined) {
      const id = num(e.id);
      if (id === undefined) continue;
      const c = open.get(ch);
      if (c) c.commands.push(id);
      else pending.set(ch, [...(pending.get(ch) ?? []), id]);
      continue;
    }
    if (e.type === 'channel.open' && ch !== undefined) {
      const p = e.pty && typeof e.pty === 'object' ? (e.pty as Record<string, unknown>) : undefined;
      const cols = num(p?.cols);
      const rows = num(p?.rows);
      const term = str(p?.term, 64);
      const c: SshChannel = {
        key: out.length,
        channel: ch,
        kind: str(e.kind, 32) ?? '?',
        openT: t,
        closeT: null,
        closed: false,
        exitStatus: null,
        exitSignal: null,
        outputBytes: 0,
        inputBytes: 0,
        withheld: 0,
        commands: pending.get(ch) ?? [],
        ...(str(e.command, 4096) !== undefined ? { command: str(e.command, 4096)! } : {}),
        ...(p && cols !== undefined && rows !== undefined ? { pty: { cols, rows, ...(term ? { term } : {}) } } : {}),
      };
      pending.delete(ch);
      out.push(c);
      open.set(ch, c);
      continue;
    }
    if (ch === undefined) continue;
    const c = open.get(ch);
    if (!c) continue;
    if (e.type === 'channel.close') {
      c.closed = true;
      c.closeT = t;
      c.exitStatus = typeof e.exitStatus === 'number' && Number.isInteger(e.exitStatus) ? e.exitStatus : null;
      c.exitSignal = str(e.exitSignal, 32) ?? null;
      if (str(e.reason)) c.reason = str(e.reason, 600)!;
      open.delete(ch);
    } else if (e.type === 'output' && e.data) c.outputBytes += e.data.length;
    else if (e.type === 'input') {
      if (e.data) c.inputBytes += e.data.length;
      c.withheld += num(e.withheld) ?? 0;
    }
  }
  return out;
}

/** How a channel ended, in words: "exit 0", "signal TERM", or "not recorded" (never a guessed 0). */
export function channelEnd(c: Pick<SshChannel, 'closed' | 'exitStatus' | 'exitSignal' | 'reason'>): string {
  const why = c.reason ? ` (${c.reason})` : '';
  if (!c.closed) return 'exit status not recorded (still open at the end of the recording)';
  if (c.exitStatus !== null) return `exit ${c.exitStatus}${why}`;
  if (c.exitSignal !== null) return `signal ${c.exitSignal}${why}`;
  return `exit status not recorded${why}`;
}

export type CommandMark = 'allowed' | 'blocked' | 'denied' | 'held' | 'approved' | 'expired' | 'undecided';

export interface SshCommand {
  id: number | null;
  t: number;
  text: string;
  channel: number | null;
  /** The channel's key in sshChannels (null when no channel.open names it). */
  channelKey: number | null;
  decision: string | null;
  mark: CommandMark;
  /** The command waited for an approval. */
  held: boolean;
  rule?: string;
  reason?: string;
  approvedBy?: string[];
  /** When it was decided finally (approved/denied/expired), for a held command. */
  decidedT?: number;
}

export function sshCommands(events: readonly EvidenceEvent[], channels: readonly SshChannel[] = sshChannels(events)): SshCommand[] {
  const out: SshCommand[] = [];
  const byId = new Map<number, SshCommand>();
  for (const e of events) {
    const t = num(e.t) ?? 0;
    if (e.type === 'command') {
      const id = num(e.id) ?? null;
      const channel = num(e.channel) ?? null;
      const c: SshCommand = {
        id,
        t,
        text: (str(e.text, 4096) ?? '').replace(/[\x00-\x1f\x7f]/g, ' '),
        channel,
        channelKey: id !== null ? (channels.find((x) => x.commands.includes(id))?.key ?? null) : null,
        decision: null,
        mark: 'undecided',
        held: false,
      };
      out.push(c);
      if (id !== null) byId.set(id, c);
    } else if (e.type === 'decision' && e.scope !== 'session') {
      const id = num(e.command);
      const c = id !== undefined ? byId.get(id) : undefined;
      if (!c) continue;
      const d = str(e.decision, 32) ?? null;
      c.decision = d;
      if (d === 'hold') c.held = true;
      else if (c.held) c.decidedT = t;
      if (str(e.rule)) c.rule = str(e.rule, 200)!;
      if (str(e.reason)) c.reason = str(e.reason, 600)!;
      if (Array.isArray(e.approvedBy)) c.approvedBy = e.approvedBy.slice(0, 32).map((x) => str(x, 200) ?? '?');
      c.mark = d === 'allow' ? 'allowed' : d === 'block' ? 'blocked' : d === 'denied' ? 'denied' : d === 'hold' ? 'held' : d === 'approved' ? 'approved' : d === 'expired' ? 'expired' : 'undecided';
    }
  }
  return out;
}

export interface Transfer {
  t: number;
  path: string;
  direction: string;
  /** null: not recorded. */
  bytes: number | null;
  sha256: string | null;
  outcome: string;
  reason?: string;
  channel: number | null;
  command: number | null;
}

export function transfers(events: readonly EvidenceEvent[]): Transfer[] {
  return events
    .filter((e) => e.type === 'transfer')
    .map((e) => {
      const sha = str(e.sha256, 64);
      return {
        t: num(e.t) ?? 0,
        path: str(e.path, 4096) ?? '',
        direction: str(e.direction, 32) ?? 'not recorded',
        bytes: num(e.bytes) ?? null,
        sha256: sha && /^[0-9a-f]{64}$/i.test(sha) ? sha.toLowerCase() : null,
        outcome: str(e.outcome, 32) ?? 'not recorded',
        ...(str(e.reason) ? { reason: str(e.reason, 600)! } : {}),
        channel: num(e.channel) ?? null,
        command: num(e.command) ?? null,
      };
    });
}

export interface Forward {
  channel: number;
  openT: number;
  closeT: number | null;
  host: string;
  port: number | null;
  origin?: string;
  /** null: no forward.close recorded, so the byte counts are unknown. */
  bytesIn: number | null;
  bytesOut: number | null;
  reason?: string;
}

export function forwards(events: readonly EvidenceEvent[]): Forward[] {
  const out: Forward[] = [];
  const open = new Map<number, Forward>();
  for (const e of events) {
    const ch = num(e.channel);
    if (ch === undefined) continue;
    const t = num(e.t) ?? 0;
    if (e.type === 'forward.open') {
      const f: Forward = { channel: ch, openT: t, closeT: null, host: str(e.host, 256) ?? '?', port: num(e.port) ?? null, bytesIn: null, bytesOut: null, ...(str(e.origin) ? { origin: str(e.origin, 300)! } : {}) };
      out.push(f);
      open.set(ch, f);
    } else if (e.type === 'forward.close') {
      const f = open.get(ch);
      if (!f) continue;
      f.closeT = t;
      f.bytesIn = num(e.bytesIn) ?? null;
      f.bytesOut = num(e.bytesOut) ?? null;
      if (str(e.reason)) f.reason = str(e.reason, 600)!;
      open.delete(ch);
    }
  }
  return out;
}

/** IPv6 literals in brackets, as `ssh -L` writes them. */
export function hostPort(host: string, port: number | null): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${h}:${port ?? 'port not recorded'}`;
}

export interface Fact {
  label: string;
  value: string;
  mono?: boolean;
}

/** The client's login facts (certificate key id, serial, CA; or the listed key), from identity.verified. */
export function clientLoginFacts(events: readonly EvidenceEvent[]): Fact[] {
  const id = events.find((e) => e.type === 'identity.verified');
  if (!id) return [];
  const c = id.claims && typeof id.claims === 'object' ? (id.claims as Record<string, unknown>) : {};
  const facts: Fact[] = [{ label: 'Method', value: str(id.method, 64) ?? 'not recorded' }];
  const add = (label: string, v: unknown, mono = true) => {
    const s = Array.isArray(v) ? v.map((x) => str(x, 200) ?? '?').join(', ') : str(v, 300);
    if (s) facts.push({ label, value: s, mono });
  };
  add('Certificate key id', c.keyId);
  add('Certificate serial', c.serial);
  add('Certificate type', c.certType);
  add('CA fingerprint', c.caFingerprint);
  add('CA comment', c.caComment, false);
  add('Principals', c.principals ?? c.principal);
  add('Valid after', c.validAfter);
  add('Valid before', c.validBefore);
  add('Key type', c.keyType);
  add('Key fingerprint', c.keyFingerprint);
  if (c.criticalOptions && typeof c.criticalOptions === 'object') {
    const opts = Object.entries(c.criticalOptions as Record<string, unknown>).map(([k, v]) => `${k}=${str(v, 200) ?? ''}`);
    if (opts.length) add('Critical options', opts);
  }
  return facts;
}

/** How Vigil logged in to the target (the `target-connected` notice): method, user, its per-session certificate. */
export function targetLoginFacts(events: readonly EvidenceEvent[]): Fact[] | null {
  const n = events.find((e) => e.type === 'notice' && e.kind === 'target-connected');
  if (!n) return null;
  const facts: Fact[] = [
    { label: 'Method', value: str(n.method, 64) ?? 'not recorded' },
    { label: 'As user', value: str(n.user, 200) ?? 'not recorded' },
  ];
  if (str(n.serverVersion)) facts.push({ label: 'Server', value: str(n.serverVersion, 200)!, mono: true });
  const cert = n.certificate && typeof n.certificate === 'object' ? (n.certificate as Record<string, unknown>) : undefined;
  if (cert) {
    for (const [label, k] of [
      ['Certificate key id', 'keyId'],
      ['Certificate serial', 'serial'],
      ['Principal', 'principal'],
      ['CA fingerprint', 'caFingerprint'],
      ['Valid after', 'validAfter'],
      ['Valid before', 'validBefore'],
    ] as const) {
      const v = str(cert[k], 300);
      facts.push({ label, value: v ?? 'not recorded', mono: v !== undefined });
    }
  }
  return facts;
}
