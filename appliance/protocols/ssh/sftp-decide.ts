/**
 * Deciding one SFTP or scp operation through the pipeline: recorded (`command` kind `sftp` or `scp`, with
 * the channel), made durable, then allowed, refused, or held for approval — it reaches the target only once
 * this resolves `ok`. A recording failure ends the session (fail closed).
 */
import { describeError } from '../../../shared/errors.ts';
import { maskEvidenceText } from '../../../shared/pan/index.ts';
import type { PipelineSession } from '../../pipeline/session.ts';
import type { Operation, Via } from './sftp-ops.ts';

export interface OperationContext {
  session: PipelineSession;
  channel: number;
  abort(reason: string): void;
  logger: { warn(o: object, msg: string): void };
  /** Tells the client an operation is waiting for approval (scp: on stderr; SFTP has no place for it). */
  tellHeld?(message: string): void;
}

export type Gate = { ok: true; id: number } | { ok: false; id: number | undefined; message: string };

export async function decideOperation(ctx: OperationContext, via: Via, op: Operation, refusal?: { rule: string; reason: string }): Promise<Gate> {
  const { session } = ctx;
  const text = session.masks.evidence(op.text);
  // Recorded as the classification, so masked like the text (a path could hold a card number).
  const facts = op.facts.map((f) => ({ ...f, objects: f.objects.map((o) => maskEvidenceText(o).text) }));
  const d = session.decide({ kind: via, text, facts, extra: { channel: ctx.channel }, ...(refusal ? { refusal } : {}) });
  session.recordMasking(d.id);
  try {
    await session.commit();
  } catch (e) {
    ctx.logger.warn({ sessionId: session.id, err: describeError(e) }, 'recording failed; ending the SSH session');
    ctx.abort('recording failed');
    return { ok: false, id: d.id, message: 'vigil: the session could not be recorded; Vigil ends it (nothing was done)' };
  }
  const decision = d.decision;
  if (decision.action === 'allow') return { ok: true, id: d.id };
  if (decision.action === 'block') return { ok: false, id: d.id, message: `vigil: blocked by policy (${decision.rule}): ${maskEvidenceText(decision.reason).text}` };
  const outcome = await session.hold(
    d,
    { display: text, exactBytes: Buffer.from(op.text, 'utf8'), classification: facts.map((f) => ({ class: f.class, command: f.command, tags: f.tags, tables: f.objects })) },
    (info) => ctx.tellHeld?.(`vigil: ${text} needs approval (${decision.rule}): request ${info.requestId}, expires ${info.expiresAt}\nvigil: ${info.howTo}\n`),
  );
  if (!outcome.approved) return { ok: false, id: d.id, message: `vigil: not approved (${outcome.kind === 'expired' ? 'expired' : 'denied'}): ${maskEvidenceText(outcome.reason).text}` };
  return { ok: true, id: d.id };
}
