/**
 * The ErrorResponses Vigil itself sends to PostgreSQL clients. Messages help a legitimate user fix the
 * problem and never carry a secret, a token or a card number.
 */
import { toClient } from './wire/index.ts';

export function fatal(code: string, message: string, hint?: string): Buffer {
  return toClient.errorResponse({ severity: 'FATAL', code, message, ...(hint ? { hint } : {}) });
}

export function error(code: string, message: string, hint?: string, detail?: string): Buffer {
  return toClient.errorResponse({ severity: 'ERROR', code, message, ...(hint ? { hint } : {}), ...(detail ? { detail } : {}) });
}

/** Error fields for a command refused by policy (SQLSTATE 42501, insufficient_privilege). */
export function policyErrorFields(rule: string, reason: string): Map<string, string> {
  return new Map([
    ['S', 'ERROR'],
    ['V', 'ERROR'],
    ['C', '42501'],
    ['M', `blocked by Vigil policy rule "${rule}": ${reason}`],
    ['H', 'ask the owner of this Vigil policy if you need this command; the attempt was recorded'],
  ]);
}

/** Error fields for a command the gateway refuses whatever policy says (integrity.ts). */
export function refusalErrorFields(r: { sqlstate: string; reason: string; hint?: string }): Map<string, string> {
  const fields = new Map([
    ['S', 'ERROR'],
    ['V', 'ERROR'],
    ['C', r.sqlstate],
    ['M', `refused by Vigil: ${r.reason}`],
  ]);
  if (r.hint) fields.set('H', r.hint);
  return fields;
}

export function deniedErrorFields(rule: string, reason: string): Map<string, string> {
  return new Map([
    ['S', 'ERROR'],
    ['V', 'ERROR'],
    ['C', '42501'],
    ['M', `not approved (Vigil rule "${rule}"): ${reason}`],
  ]);
}
