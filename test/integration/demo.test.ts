/** The README's first command, as a newcomer runs it: `npm run demo` → `vigil demo`. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vigil } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';

// npm test installs openssh-server (scripts/ensure-system-packages.sh), so the SSH part runs here.
const hasSshd = existsSync('/usr/sbin/sshd');

describe('vigil demo', () => {
  it('shows masked rows, a blocked DROP, an SSH session (masked cat, blocked sudo, approved command), and evidence that verifies', () => {
    // A directory that does not exist yet: --dir makes it (it used to crash opening the log file).
    const dir = join(tempDir('vigil-demo-test-'), 'new', 'dir');
    const r = vigil(['demo', '--exit', '--dir', dir]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('1 | Erika Mustermann | 411111******1111 | [REDACTED]');
    expect(r.stdout).toMatch(/ERROR 42501: blocked by Vigil policy rule "ci-payments\/no-destructive-ddl"/);
    expect(r.stdout).toMatch(/NOTICE: Vigil is holding this command for approval \(request (apr_[\w-]+)\)/);
    expect(r.stdout).toMatch(/approved apr_[\w-]+: the held command runs now\n {7}UPDATE 1/);
    expect(r.stdout).not.toContain('4111111111111111');
    expect(r.stdout).not.toContain('5555555555554444');
    if (hasSshd) {
      expect(r.stdout).toContain('1001,Erika Mustermann,4111 11** **** 1111');
      expect(r.stdout).toContain('1002,Hans Schmidt,555555******4444');
      expect(r.stdout).toContain('vigil: blocked by policy (deploy-web/no-sudo): bots never run sudo on CDE hosts');
      expect(r.stdout).toMatch(/vigil approvals approve (apr_[\w-]+) --reason "release 42, CHG-4412"\n {9}approved \1: the held command runs now/);
      expect(r.stdout).toMatch(/readlink .*current'\n {7}releases\/42\n/);
      expect(r.stdout).toMatch(/PASS: 5 sessions — 5 complete/);
      expect(r.stdout).toMatch(/session #\d+ command 1: APPROVED, ran — approved by alice@acme\.example \(release 42, CHG-4412\)/);
    } else {
      expect(r.stdout).toContain('(SSH part skipped: /usr/sbin/sshd not found');
      expect(r.stdout).toMatch(/PASS: 1 session — 1 complete/);
    }
    expect(r.code).toBe(0);
  }, 120_000);
});
