/**
 * The input side of an interactive shell: every byte the client types is forwarded at once, except Enter,
 * which waits until the typed line (typed-line.ts) has been decided through the pipeline and the decision is
 * durable (record, then forward). Allowed: the Enter goes on. Blocked: Vigil sends the target Ctrl-E Ctrl-U
 * (end of line, kill it) instead, and tells the user why. Needs approval: the Enter is withheld (and input
 * after it queued) until approvers decide; denied or expired, the line is killed. A line Vigil could not
 * follow (arrow keys, history, Tab) is refused (`vigil/ssh-shell-line-unknown`): fail closed.
 * While a full-screen program holds the terminal (alternate screen) keys are not shell lines: forwarded and
 * recorded, not decided. After a password prompt, typed bytes the target does not echo are a secret: forwarded,
 * never recorded (an `input` with `withheld`, and a `typed-secret-withheld` notice with the count).
 * Defence in depth only (docs/ssh-gateway.md, "Interactive shells"): exec is the enforceable path.
 */
import { maskEvidenceText } from '../../../shared/pan/index.ts';
import type { CommandFacts } from '../../policy/engine.ts';
import type { PipelineSession } from '../../pipeline/session.ts';
import { execFacts, execRefusal } from './exec-facts.ts';
import { OutputWatch } from './password-prompt.ts';
import { StreamMasker } from '../../pipeline/stream-masker.ts';
import { TypedLine, type LineState } from './typed-line.ts';

/** Ctrl-E (end of line) then Ctrl-U (kill to its start): empties the line in readline and in a canonical tty. */
export const KILL_LINE = Buffer.from([0x05, 0x15]);
/** How long after the last typed byte Vigil waits for the target's echo before it calls the input a secret. */
export const ECHO_WAIT_MS = 250;
const ECHO_KEEP = 4096;

export interface GateDeps {
  session: PipelineSession;
  channel: number;
  /** The recorded stream name of input (`pty`, or `stdin` without a terminal). */
  stream: string;
  toTarget(b: Buffer): void;
  /** A message for the user's terminal (CRLF line ends). */
  toClient(text: string): void;
  /** Commits the record; false when it failed (the session is then being ended: forward nothing). */
  commit(): Promise<boolean>;
  /** Whether the channel is still open (nothing is forwarded after it closed). */
  open(): boolean;
}

interface SecretCandidate {
  bytes: Buffer[];
  lastAt: number;
  /** Raw output since the first typed byte (memory only), to see whether the target echoes what is typed. */
  since: string;
}

export class ShellLineGate {
  private readonly line = new TypedLine();
  private readonly watch = new OutputWatch();
  private readonly inputMasker: StreamMasker;
  private chain: Promise<void> = Promise.resolve();
  private secret: SecretCandidate | undefined;
  private suspended = false;

  constructor(private readonly d: GateDeps) {
    this.inputMasker = new StreamMasker((b, ctx) => d.session.masks.streamBytes(b, ctx));
  }

  /** Raw output from the target (before masking; kept in memory only, bounded). */
  output(raw: Buffer): void {
    this.watch.push(raw);
    if (this.secret) this.secret.since = (this.secret.since + raw.toString('latin1')).slice(-ECHO_KEEP);
    const alt = this.watch.alternateScreen;
    if (alt !== this.suspended) {
      this.suspended = alt;
      this.line.reset();
      this.d.session.record({ type: 'notice', kind: 'shell-line-control', channel: this.d.channel, state: alt ? 'suspended' : 'resumed', reason: 'a full-screen program holds the terminal (alternate screen)' });
    }
  }

  /** A read from the client, processed in order after those before it (a held line delays what follows). */
  input(chunk: Buffer): Promise<void> {
    this.chain = this.chain.then(() => this.process(chunk));
    return this.chain;
  }

  /** The end of the channel: what the input masker still holds is recorded. */
  end(): void {
    this.recordInput(this.inputMasker.end());
  }

  private recordInput(masked: Uint8Array): void {
    if (masked.length) this.d.session.record({ type: 'input', channel: this.d.channel, stream: this.d.stream, data: masked });
  }

  private async process(chunk: Buffer): Promise<void> {
    if (!this.d.open()) return;
    if (!this.secret && !this.suspended && this.line.empty && this.watch.prompting) this.secret = { bytes: [], lastAt: Date.now(), since: '' };
    for (const key of this.line.push(chunk)) {
      if (!this.d.open()) return;
      if (key.kind === 'bytes') {
        this.d.toTarget(key.data);
        if (this.secret) {
          this.secret.bytes.push(key.data);
          this.secret.lastAt = Date.now();
        } else this.recordInput(this.inputMasker.push(key.data));
        continue;
      }
      // A prompt the line brings (sudo's) is seen when the next read starts: the output then is not stale.
      await this.enter(key.line, key.data);
    }
  }

  private async enter(line: LineState, enter: Buffer): Promise<void> {
    const s = this.secret;
    if (s) {
      this.secret = undefined;
      const wait = s.lastAt + ECHO_WAIT_MS - Date.now();
      if (wait > 0 && s.bytes.length) await new Promise((r) => setTimeout(r, wait));
      const typed = Buffer.concat(s.bytes);
      if (!echoed(line, s)) {
        // Typed at a password prompt with the echo off: never stored, only counted.
        const withheld = typed.length + enter.length;
        this.d.session.record({ type: 'input', channel: this.d.channel, stream: this.d.stream, withheld });
        this.d.session.record({ type: 'notice', kind: 'typed-secret-withheld', channel: this.d.channel, bytes: withheld });
        if (this.d.open()) this.d.toTarget(enter);
        return;
      }
      // The target echoed it: not a secret, an ordinary line.
      this.recordInput(this.inputMasker.push(typed));
    }
    if (this.suspended || (line.known && line.text.trim() === '')) return this.forward(enter);
    await this.decide(line, enter);
  }

  private forward(enter: Buffer): void {
    this.recordInput(this.inputMasker.push(enter));
    this.recordInput(this.inputMasker.end());
    this.d.toTarget(enter);
  }

  private async decide(line: LineState, enter: Buffer): Promise<void> {
    const { session } = this.d;
    this.recordInput(this.inputMasker.end());
    const shown = session.masks.evidence(line.text);
    const text = line.known ? shown : `<typed line not known: ${line.why ?? 'edited'}>${shown ? ` ${shown}` : ''}`;
    const facts: CommandFacts[] = line.known ? execFacts(line.text).map((f) => ({ ...f, command: maskEvidenceText(f.command).text })) : [{ class: 'exec', command: '(unknown)', tags: ['unparsable'], objects: [], attributes: { reason: line.why ?? 'edited' } }];
    const refusal = line.known
      ? execRefusal(facts)
      : { rule: 'vigil/ssh-shell-line-unknown', reason: `Vigil could not follow the typed line (${line.why ?? 'edited'}); retype it in full, without line editing` };
    const d = session.decide({ kind: 'shell', text, facts, extra: { channel: this.d.channel }, ...(refusal ? { refusal } : {}) });
    session.recordMasking(d.id);
    if (!(await this.d.commit())) return;
    const decision = d.decision;
    if (decision.action === 'block') return this.kill(`blocked by policy (${decision.rule}): ${maskEvidenceText(decision.reason).text}`);
    if (decision.action === 'require-approval') {
      const outcome = await session.hold(
        d,
        { display: text, exactBytes: Buffer.from(line.text, 'utf8'), classification: facts.map((f) => ({ class: f.class, command: f.command, tags: f.tags, tables: f.objects })) },
        (info) => this.d.toClient(`\r\nvigil: this line needs approval (${decision.rule}): request ${info.requestId}, expires ${info.expiresAt}\r\nvigil: ${info.howTo}\r\n`),
      );
      if (!outcome.approved) return this.kill(`not approved (${outcome.kind === 'expired' ? 'expired' : 'denied'}): ${maskEvidenceText(outcome.reason).text}`);
      if (!this.d.open()) return;
      this.d.toClient('vigil: approved; running it\r\n');
    }
    this.forward(enter);
  }

  /** The line stays unsent: the target's copy of it is emptied, and the user told why. */
  private kill(message: string): void {
    if (!this.d.open()) return;
    this.d.toTarget(KILL_LINE);
    this.d.toClient(`\r\nvigil: ${message}\r\nvigil: the line was cleared on the host; press Enter for a new prompt\r\n`);
  }
}

/** Whether the target echoed the typed line (then the echo was on: not a secret). */
function echoed(line: LineState, s: SecretCandidate): boolean {
  const text = line.text.replace(/\s+$/, '');
  if (!text) return false;
  return s.since.includes(text.slice(0, 8));
}
