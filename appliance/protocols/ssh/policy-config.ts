/**
 * SSH's own policy settings (`policies[].ssh` in vigil.yaml). Commands (exec lines, shell lines, SFTP and scp
 * operations, port forwards) are decided by the neutral rules (`when.protocols: [ssh]`, `when.classes`,
 * `when.objects` for paths and host:port); this block holds what is not a command rule.
 */
import { z } from 'zod';

const ENV_DEFAULT = ['LANG', 'LC_*', 'TERM', 'COLORTERM', 'TZ'];
const TRANSFER_DEFAULTS = { clearPan: 'block' as const };
const SHELL_DEFAULTS = { allow: true };
const FORWARDING_DEFAULTS = { allow: [] as string[] };

export const sshPolicySchema = z
  .strictObject({
    /** Environment variables a client may pass (`env` requests, `SendEnv`), as globs; others are refused and recorded. */
    env: z.array(z.string().min(1)).default(ENV_DEFAULT),
    /** Interactive shells (`ssh host` with no command). Shell-line control is defence in depth; exec is the enforceable path. */
    shell: z.strictObject({ allow: z.boolean().default(true) }).default(SHELL_DEFAULTS),
    /** `direct-tcpip` (ssh -L / -W): destinations allowed, as `host:port` globs; default none. */
    forwarding: z.strictObject({ allow: z.array(z.string().min(1)).default([]) }).default(FORWARDING_DEFAULTS),
    /** SFTP and scp downloads holding a clear card number: blocked (default) or allowed as a documented exception. */
    transfers: z.strictObject({ clearPan: z.enum(['block', 'allow']).default('block') }).default(TRANSFER_DEFAULTS),
  })
  .default({ env: ENV_DEFAULT, shell: SHELL_DEFAULTS, forwarding: FORWARDING_DEFAULTS, transfers: TRANSFER_DEFAULTS });
export type SshPolicy = z.infer<typeof sshPolicySchema>;

/** The SSH block of a policy the engine granted (its config is typed neutral there). */
export function sshPolicyOf(config: object | undefined): SshPolicy {
  return (config as { ssh?: SshPolicy } | undefined)?.ssh ?? sshPolicySchema.parse(undefined);
}
