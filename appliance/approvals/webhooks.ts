/**
 * Webhooks for approval requests and decisions: a Slack-compatible `text` message or the event as JSON,
 * delivered in the background with retries and exponential backoff. A slow or failing receiver never
 * delays a decision; every failure is logged.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WebhookConfig } from './config.ts';
import { shownDecision, shownRecord } from './shown-record.ts';
import type { ApprovalDecision, ApprovalRecord } from './types.ts';

export type WebhookEvent = 'requested' | 'decided' | 'denied' | 'expired' | 'cancelled';

export interface WebhookLogger {
  warn(o: object, msg: string): void;
  info(o: object, msg: string): void;
}

export class WebhookNotifier {
  private readonly cas = new Map<string, Buffer>();
  private inflight = new Set<Promise<void>>();

  constructor(
    private readonly hooks: readonly WebhookConfig[],
    private readonly logger: WebhookLogger,
    resolvePath: (p: string) => string,
    private readonly approveHint: (id: string) => string,
  ) {
    for (const h of hooks) if (h.ca) this.cas.set(h.url, readFileSync(resolvePath(h.ca)));
  }

  notify(event: WebhookEvent, record: ApprovalRecord, decided?: ApprovalDecision): void {
    // A webhook body leaves the appliance: masked and redacted whatever the caller handed over.
    const rec = shownRecord(record);
    const decision = decided && shownDecision(decided);
    for (const hook of this.hooks) {
      const body = JSON.stringify(hook.format === 'slack' ? { text: slackText(event, rec, decision, this.approveHint(rec.id)) } : { event, approval: rec, ...(decision ? { decision } : {}) });
      const p = this.deliver(hook, body).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  /** Waits for deliveries in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  private async deliver(hook: WebhookConfig, body: string): Promise<void> {
    for (let attempt = 1; attempt <= hook.attempts; attempt++) {
      try {
        await post(hook, body, this.cas.get(hook.url));
        return;
      } catch (e) {
        this.logger.warn({ webhook: redactUrl(hook.url), attempt, of: hook.attempts, err: (e as Error).message }, 'approval webhook delivery failed');
        if (attempt < hook.attempts) await new Promise((r) => setTimeout(r, hook.backoffMs * 2 ** (attempt - 1)).unref());
      }
    }
  }
}

function post(hook: WebhookConfig, body: string, ca: Buffer | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(hook.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'vigil-approvals' }, timeout: hook.timeoutMs, ...(ca ? { ca } : {}) },
      (res) => {
        res.resume();
        if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) resolve();
        else reject(new Error(`HTTP ${res.statusCode}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${hook.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function slackText(event: WebhookEvent, r: ApprovalRecord, d: ApprovalDecision | undefined, hint: string): string {
  const who = `${r.requester.subject} → ${r.target}`;
  switch (event) {
    case 'requested':
      return `:hourglass: Approval needed (${r.id}) for ${who}, rule ${r.rule}:\n\`\`\`${r.command}\`\`\`${r.justification ? `\nJustification: ${r.justification}` : ''}\nNeeds ${r.approvers.required} approver(s) from ${r.approvers.groups.join(', ')} before ${r.expiresAt}.\n${hint}`;
    case 'decided':
      return `${d?.decision === 'approve' ? ':white_check_mark:' : ':no_entry:'} ${d?.approver.subject} ${d?.decision === 'approve' ? 'approved' : 'denied'} ${r.id}${d?.reason ? `: ${d.reason}` : ''}`;
    case 'denied':
      return `:no_entry: ${r.id} was denied: ${r.outcomeReason ?? ''}`;
    case 'expired':
      return `:alarm_clock: ${r.id} expired without a decision; the command was refused.`;
    case 'cancelled':
      return `:x: ${r.id} was cancelled: ${r.outcomeReason ?? ''}`;
  }
}

/** Webhook URLs often carry a secret in their path (Slack's do): log only the host. */
function redactUrl(u: string): string {
  try {
    return new URL(u).origin;
  } catch {
    return '<invalid url>';
  }
}
