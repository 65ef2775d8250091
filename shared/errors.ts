/**
 * Every error Vigil raises on purpose is a VigilError with a stable code. Codes are part of the CLI's
 * `--json` output and the viewer's messages, so they never change meaning once released.
 */
export class VigilError extends Error {
  readonly code: string;
  /** What the user can do about it, when there is something to do. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VigilError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isVigilError(e: unknown, code?: string): e is VigilError {
  return e instanceof VigilError && (code === undefined || e.code === code);
}

/** A readable one-line description of anything thrown. */
export function describeError(e: unknown): string {
  if (e instanceof VigilError) return e.hint ? `${e.message} (${e.hint})` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
