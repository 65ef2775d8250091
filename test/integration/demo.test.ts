/** The README's first command, as a newcomer runs it: `npm run demo` → `vigil demo`. */
import { describe, expect, it } from 'vitest';
import { vigil } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';

describe('vigil demo', () => {
  it('shows masked rows, a blocked DROP, and evidence that verifies', () => {
    const r = vigil(['demo', '--exit', '--dir', tempDir('vigil-demo-test-')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('1 | Erika Mustermann | 411111******1111 | [REDACTED]');
    expect(r.stdout).toMatch(/ERROR 42501: blocked by Vigil policy rule "ci-payments\/no-destructive-ddl"/);
    expect(r.stdout).toMatch(/NOTICE: Vigil is holding this command for approval \(request (apr_[\w-]+)\)/);
    expect(r.stdout).toMatch(/approved apr_[\w-]+: the held command runs now\n {7}UPDATE 1/);
    expect(r.stdout).toMatch(/PASS: 1 session\(s\) — 1 complete/);
    expect(r.stdout).not.toContain('4111111111111111');
    expect(r.code).toBe(0);
  }, 120_000);
});
