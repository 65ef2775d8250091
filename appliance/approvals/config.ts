/** The approvals section of vigil.yaml: expiry, webhooks. Who approves what is in each policy rule. */
import { z } from 'zod';

export const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'a webhook url is http:// or https://' }),
  /** slack: a Slack-compatible `{"text": …}` message; json: the whole event as JSON. */
  format: z.enum(['slack', 'json']).default('json'),
  /** CA bundle for an https receiver with a private certificate. */
  ca: z.string().optional(),
  timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /** Attempts per event (with exponential backoff from `backoffMs`). */
  attempts: z.number().int().min(1).max(10).default(4),
  backoffMs: z.number().int().min(10).max(600_000).default(1_000),
});
export type WebhookConfig = z.infer<typeof webhookSchema>;

export const approvalsSchema = z.strictObject({
  /** A request nobody decides within this time is denied. */
  expirySeconds: z.number().int().min(5).max(7 * 24 * 3600).default(600),
  webhooks: z.array(webhookSchema).default([]),
});
export type ApprovalsConfig = z.infer<typeof approvalsSchema>;
