/**
 * The session pipeline's contract, as every protocol adapter must keep it (docs/architecture.md, "One
 * session pipeline"): record, then forward; an approval binds the exact command and releases only it; a
 * session does not close before its held commands have recorded how they ended; a recorder that fails
 * stops the session before anything more reaches the target. An adapter runs it with a harness that knows
 * its protocol — how to start a gateway for it, send a command, ask the target whether it ran — and the
 * suite drives the real recorder and the real approval service around it (both protocol-neutral).
 *
 * Each property fails for a broken implementation; checked once per property by breaking it in a scratch
 * worktree and running the PostgreSQL contract (test/contract/postgres.contract.test.ts):
 * - record-then-forward: proxy.ts flush() writing to the target before `await session.commit()` → the
 *   target ran the command while its recording waited;
 * - fail closed: flush() swallowing a commit() rejection → the command ran although recording failed;
 * - hold binding: hold() not writing `command.released` → no release in the archive; the adapter forwarding
 *   a denied command → the target ran it;
 * - close waits for holds: closeOnce() not awaiting `holds` (keeping its one-tick wait) → the cancelled hold's
 *   outcome is missing from the archive (the test slows the cancellation down, as a busy approvals store would).
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { openFileSource } from '../../appliance/evidence/file-source.ts';
import type { RecordedSession, SessionRecorder } from '../../appliance/evidence/session-recorder.ts';
import type { Appliance } from '../../appliance/appliance.ts';
import type { ApprovalService, Approver } from '../../appliance/approvals/service.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import type { TrustFile } from '../../shared/evidence/trust.ts';
import { verifyBundle } from '../../shared/evidence/verify/verify-bundle.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { tempDir } from '../helpers/evidence.ts';

/** How a command ended for the client. */
export interface ClientOutcome {
  ok: boolean;
  /** The error the client saw, when not ok. */
  message: string;
}

export interface ContractClient {
  /**
   * Sends a command that leaves `marker` at the target when it runs: `allowed` is one policy allows,
   * `held` one policy holds for approval. Resolves when the client has its answer (or lost the connection).
   * `exactBytes`: the bytes the adapter's approval hash binds for it.
   */
  send(kind: 'allowed' | 'held', marker: string): { done: Promise<ClientOutcome>; exactBytes: Uint8Array };
  /** Drops the connection as a client that goes away would (no goodbye). */
  drop(): void;
  /** Ends the connection politely. */
  end(): Promise<void>;
}

export interface ContractGateway {
  appliance: Appliance;
  recorder: SessionRecorder;
  approvals: ApprovalService;
  /** Someone policy lets decide the `held` commands (never the client's identity). */
  approver: Approver;
  /** The appliance's fingerprint key: the approval hash's key. */
  commandKey: Uint8Array;
  trust: TrustFile;
  auditor: AuditorSecret;
  /** Connects an authenticated client; resolves once the session is ready for commands. */
  connect(): Promise<ContractClient>;
  /** Asks the target itself (not through the gateway) whether the command with `marker` ran. */
  executed(marker: string): Promise<boolean>;
  stop(): Promise<void>;
}

export interface AdapterHarness {
  protocol: string;
  start(): Promise<ContractGateway>;
}

/** Fault injection around the real recorder: the durability barrier (sync) can be made to wait or to fail. */
class RecorderTap {
  mode: 'pass' | 'hold' | 'fail' = 'pass';
  readonly started: RecordedSession[] = [];
  private waiting: (() => void)[] = [];
  private syncCalls: (() => void)[] = [];

  constructor(recorder: SessionRecorder) {
    const start = recorder.start.bind(recorder);
    recorder.start = (ctx) => {
      const s = start(ctx);
      this.started.push(s);
      const sync = s.sync.bind(s);
      s.sync = async () => {
        for (const f of this.syncCalls.splice(0)) f();
        if (this.mode === 'fail') throw new Error('contract test: the archive disk is gone');
        if (this.mode === 'hold') await new Promise<void>((r) => this.waiting.push(r));
        return sync();
      };
      return s;
    };
  }

  /** Resolves at the next sync the pipeline asks for. */
  nextSync(): Promise<void> {
    return new Promise((r) => this.syncCalls.push(r));
  }

  release(): void {
    this.mode = 'pass';
    for (const r of this.waiting.splice(0)) r();
  }

  get last(): RecordedSession {
    return this.started.at(-1)!;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let markers = 0;
const marker = (what: string) => `contract-${what}-${process.pid}-${++markers}`;

export function pipelineContract(harness: AdapterHarness): void {
  describe(`pipeline contract: ${harness.protocol}`, () => {
    let g: ContractGateway;
    let tap: RecorderTap;

    beforeAll(async () => {
      g = await harness.start();
      tap = new RecorderTap(g.recorder);
    }, 180_000);
    afterAll(async () => {
      tap?.release();
      await g?.stop();
    });

    /** Waits for the session to be sealed, exports everything and verifies it with the auditor key. */
    async function evidenceOf(session: RecordedSession): Promise<{ report: VerificationReport; events: EvidenceEvent[] }> {
      await until('the session to close', () => (g.recorder.liveSessions().some((s) => s.id === session.id) ? undefined : true));
      const out = join(tempDir('vigil-contract-'), 'bundle.vigil');
      await exportBundle(g.appliance, { out });
      const src = openFileSource(out);
      const events: EvidenceEvent[] = [];
      try {
        const report = await verifyBundle(src, g.trust, { auditor: g.auditor, onEvents: (id, evs) => id === session.id && events.push(...evs) });
        return { report, events };
      } finally {
        src.close();
      }
    }

    const pendingRequest = (sessionId: string) => () => g.approvals.list('pending').find((r) => r.sessionId === sessionId);

    it('records, then forwards: nothing reaches the target until the command is durably recorded', async () => {
      const c = await g.connect();
      const session = tap.last;
      const m = marker('record-first');
      tap.mode = 'hold';
      const synced = tap.nextSync();
      const { done } = c.send('allowed', m);
      await synced;
      await sleep(300);
      expect(await g.executed(m), 'the target ran the command while its recording was not yet durable').toBe(false);
      tap.release();
      expect(await done).toMatchObject({ ok: true });
      expect(await g.executed(m)).toBe(true);
      await c.end();
      const { report, events } = await evidenceOf(session);
      expect(events.some((e) => e.type === 'command' && String(e.text).includes(m)), 'the command is in the archive').toBe(true);
      expect(report.sessions.find((s) => s.sessionId === session.id)?.status).toBe('complete');
    });

    it('fails closed: a recorder that cannot make the command durable stops the session, and the target never runs it', async () => {
      const c = await g.connect();
      const session = tap.last;
      const m = marker('recorder-fails');
      tap.mode = 'fail';
      const outcome = await c.send('allowed', m).done;
      tap.release();
      expect(outcome.ok, 'the client is told the command did not run').toBe(false);
      await until('the session to end', () => (g.recorder.liveSessions().some((s) => s.id === session.id) ? undefined : true));
      await sleep(200);
      expect(await g.executed(m), 'the target ran a command Vigil could not record').toBe(false);
      c.drop();
    });

    it('binds an approval to the exact command: held until approved, released once with its hash; a denied one never runs', async () => {
      const c = await g.connect();
      const session = tap.last;
      const approvedMarker = marker('approved');
      const held = c.send('held', approvedMarker);
      const req = await until('the approval request', pendingRequest(session.id));
      await sleep(200);
      expect(await g.executed(approvedMarker), 'the target ran a held command before its approval').toBe(false);
      const hash = createHmac('sha256', g.commandKey).update(session.id).update('\0').update(held.exactBytes).digest('hex');
      expect(req.commandHash, 'the request binds session id + the exact command bytes').toBe(hash);
      g.approvals.decide(req.id, g.approver, 'approve', null, '127.0.0.1');
      expect(await held.done).toMatchObject({ ok: true });
      expect(await g.executed(approvedMarker)).toBe(true);

      const deniedMarker = marker('denied');
      const refused = c.send('held', deniedMarker);
      const req2 = await until('the second request', () => g.approvals.list('pending').find((r) => r.sessionId === session.id && r.id !== req.id));
      g.approvals.decide(req2.id, g.approver, 'deny', 'not today', '127.0.0.1');
      expect((await refused.done).ok).toBe(false);
      await sleep(200);
      expect(await g.executed(deniedMarker), 'the target ran a denied command').toBe(false);
      await c.end();

      const { report, events } = await evidenceOf(session);
      const seqOf = (p: (e: EvidenceEvent) => boolean) => events.find(p)?.seq ?? -1;
      const released = events.filter((e) => e.type === 'command.released');
      expect(released.map((e) => ({ requestId: e.requestId, commandHash: e.commandHash })), 'one release, of the approved request only').toEqual([{ requestId: req.id, commandHash: hash }]);
      const command = released[0]!.command;
      expect(seqOf((e) => e.type === 'decision' && e.command === command && e.decision === 'approved')).toBeLessThan(released[0]!.seq);
      const result = seqOf((e) => (e.type === 'result' || e.type === 'output') && e.command === command);
      if (result >= 0) expect(released[0]!.seq, 'released before it produced anything').toBeLessThan(result);
      expect(report.checks.find((x) => x.id === 'approvals')?.status).toBe('pass');
      expect(report.approvals?.find((a) => a.requestId === req.id)).toMatchObject({ outcome: 'approved', ran: true, hashMatches: true });
      expect(report.approvals?.find((a) => a.requestId === req2.id)).toMatchObject({ outcome: 'denied', ran: false });
    });

    it('closes only after its held commands recorded how they ended (the client went away while waiting)', async () => {
      // A hold may take a while to end after its client left (the approvals store is slow to cancel): close
      // must wait for it, not for a tick.
      const request = g.approvals.request.bind(g.approvals);
      g.approvals.request = async (req, signal, listener) => {
        const outcome = await request(req, signal, listener);
        if (signal.aborted) await sleep(300);
        return outcome;
      };
      const c = await g.connect();
      const session = tap.last;
      const m = marker('abandoned');
      const held = c.send('held', m);
      const req = await until('the approval request', pendingRequest(session.id));
      c.drop();
      await held.done;
      const sealed = evidenceOf(session);
      await sealed.finally(() => (g.approvals.request = request));
      const { report, events } = await sealed;
      const types = events.map((e) => `${e.type}${e.type === 'decision' ? `:${String(e.decision)}` : ''}`);
      const cancelled = types.indexOf('approval.cancelled');
      expect(cancelled, 'the cancellation is recorded').toBeGreaterThan(0);
      expect(types.indexOf('decision:denied'), 'and the final decision').toBeGreaterThan(cancelled);
      expect(types.at(-1)).toBe('session.close');
      expect(events.find((e) => e.type === 'approval.cancelled')?.requestId).toBe(req.id);
      expect(report.checks.find((x) => x.id === 'approvals')?.status).toBe('pass');
      expect(await g.executed(m)).toBe(false);
    });
  });
}
