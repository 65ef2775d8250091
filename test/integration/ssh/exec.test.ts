/**
 * The SSH gateway's first slice, end to end with real components: the real OpenSSH `ssh` client, the
 * gateway (public-key identity, target in the user name), a real sshd as the target (host key pinned),
 * and the exported bundle checked by the real verifier with the auditor key.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { failures } from '../../helpers/evidence.ts';
import { runSsh, startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';
import { sshKeygen, SSH_USER } from '../../helpers/sshd.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web, web-wrong-key]
    rules:
      - name: no-touch
        when: { protocols: [ssh], commands: [touch] }
        action: block
        reason: touching files is not part of a deploy
      - name: id-needs-approval
        when: { protocols: [ssh], commands: [id] }
        action: require-approval
        approvers: { groups: [ops] }
    classes: { exec: allow, default: block }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
const results: Record<string, { code: number; stdout: string; stderr: string }> = {};
let marker: string;
let heldRequest: string | undefined;
const CVV_NOTE = 'card 4111 1111 1111 1111 cvv 123';
const CVV_LINE = `printf '%s' '${CVV_NOTE}' | wc -c; id -un`;
const CLEAR_CODE = /cvv[^A-Za-z0-9]{0,12}123(?![0-9])/i;
let cvvShown = '';
let cvvRequest: string | undefined;

beforeAll(async () => {
  f = await startSshGatewayFixture({
    policies: POLICIES,
    extraTargets: `  - name: web-wrong-key
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: ${SSH_USER}
    credential: { file: SSHD_KEY }
    hostKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl']
`,
  });
  marker = join(f.sshd.scratch, 'blocked-marker');
  // A client that sends garbage instead of an SSH identification line, first: the gateway carries on.
  await new Promise<void>((resolve) => {
    const s = connect(f.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\n\r\n' + 'x'.repeat(70_000) + '\r\n'));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('data', () => undefined);
  });
  results['allowed'] = await f.ssh(`${SSH_USER}+web`, 'echo hello');
  results['targetOnly'] = await f.ssh('web', 'echo "to $(whoami)" >&2; exit 3');
  results['pan'] = await f.ssh('web', "printf '%s\\n' 4111111111111111");
  results['splitPan'] = await f.ssh('web', "printf 'paid 4111 1111'; sleep 0.4; printf ' 1111 1111 ok\\n'");
  results['blocked'] = await f.ssh('web', `touch ${marker}`);
  // The same command where a first-word matcher would not see it: after `;`, behind a wrapper, in `sh -c`.
  results['hiddenTouch'] = await f.ssh('web', `echo ok; env LC_ALL=C timeout 5 touch ${marker}`);
  results['nestedTouch'] = await f.ssh('web', `sh -c 'touch ${marker}'`);
  results['nonLiteral'] = await f.ssh('web', `$(printf tou)ch ${marker}`);
  results['mismatch'] = await f.ssh('web-wrong-key', 'echo never');
  const stranger = join(f.dir, 'stranger_ed25519');
  sshKeygen(stranger, 'stranger');
  results['unlisted'] = await f.ssh('web', 'echo never', { key: stranger });
  results['shell'] = await f.ssh('web', '');
  results['pty'] = await runSsh(f.port, join(f.dir, 'known_hosts'), f.botKey, 'web', 'echo with-tty', '', ['-tt']);
  // Agent forwarding asked for (ssh -A with a real ssh-agent): OpenSSH sends it without wanting a reply.
  const agentSock = join(f.dir, 'agent.sock');
  const agent = spawnSync('ssh-agent', ['-a', agentSock]);
  const agentPid = /SSH_AGENT_PID=(\d+)/.exec(String(agent.stdout))?.[1];
  results['agent'] = await runSsh(f.port, join(f.dir, 'known_hosts'), f.botKey, 'web', 'echo agent-was-asked', '', ['-A'], { SSH_AUTH_SOCK: agentSock });
  if (agentPid) process.kill(Number(agentPid));
  results['remoteForward'] = await runSsh(f.port, join(f.dir, 'known_hosts'), f.botKey, 'web', 'echo still-runs', '', ['-R', '127.0.0.1:0:127.0.0.1:9']);
  results['noTarget'] = await f.ssh('nosuch', 'echo never');
  results['badLogin'] = await f.ssh('root+web', 'echo never');
  const held = f.ssh('web', 'id -un');
  let req;
  for (let i = 0; i < 500 && !req; i++) {
    req = f.gateway.localApprovals.list('pending')[0];
    if (!req) await new Promise((r) => setTimeout(r, 20));
  }
  heldRequest = req?.id;
  if (req) f.gateway.localApprovals.decide(req.id, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'approve', null, '127.0.0.1');
  results['held'] = await held;
  // A held exec whose command line carries a card number and a security code: the approver is shown (and
  // vigil.db keeps) the code redacted, while the target runs the line exactly as sent (wc counts its bytes).
  const heldCvv = f.ssh('web', CVV_LINE);
  let cvvReq;
  for (let i = 0; i < 500 && !cvvReq; i++) {
    cvvReq = f.gateway.localApprovals.list('pending')[0];
    if (!cvvReq) await new Promise((r) => setTimeout(r, 20));
  }
  cvvShown = JSON.stringify(cvvReq ?? null);
  cvvRequest = cvvReq?.id;
  if (cvvReq) f.gateway.localApprovals.decide(cvvReq.id, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'approve', null, '127.0.0.1');
  results['heldCvv'] = await heldCvv;
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const sessions = (): EvidenceEvent[][] => [...evidence.sessions.values()];
const sessionWith = (pred: (e: EvidenceEvent) => boolean): EvidenceEvent[] => {
  const s = sessions().find((evs) => evs.some(pred));
  if (!s) throw new Error('no such session recorded');
  return s;
};

describe('vigil init', () => {
  it('made the gateway host key and printed its fingerprint', () => {
    expect(f.initNotes.join('\n')).toMatch(/ssh host key: keys\/ssh_host_ed25519_key {2}SHA256:[A-Za-z0-9+/]{43}/);
  });
});

describe('exec through the gateway', () => {
  it('runs an allowed command and returns its output (login+target user name), after a garbage client', () => {
    expect(results['allowed']).toMatchObject({ code: 0, stdout: 'hello\n' });
  });

  it('passes stderr and the exit status back (target-only user name logs in as the target user)', () => {
    expect(results['targetOnly']).toMatchObject({ code: 3 });
    expect(results['targetOnly']!.stderr).toContain(`to ${SSH_USER}`);
  });

  it('masks a card number in the output', () => {
    expect(results['pan']!.stdout).toBe('411111******1111\n');
  });

  it('masks a card number the target wrote in two pieces, 0.4 s apart', () => {
    expect(results['splitPan']).toMatchObject({ code: 0, stdout: 'paid 4111 11** **** 1111 ok\n' });
  });

  it('refuses a blocked command with a clear message; it never runs on the target', () => {
    expect(results['blocked']!.code).toBe(1);
    expect(results['blocked']!.stderr).toContain('vigil: blocked by policy (deploy/no-touch): touching files is not part of a deploy');
    expect(existsSync(marker)).toBe(false);
  });

  it('sees the command behind `;`, wrappers and `sh -c`, and refuses one hidden in an expansion; none runs', () => {
    for (const k of ['hiddenTouch', 'nestedTouch']) {
      expect(results[k]!.code, k).toBe(1);
      expect(results[k]!.stderr, k).toContain('vigil: blocked by policy (deploy/no-touch)');
    }
    expect(results['hiddenTouch']!.stdout, 'nothing of the line ran, not even its harmless first command').toBe('');
    expect(results['nonLiteral']!.code).toBe(1);
    expect(results['nonLiteral']!.stderr).toContain('vigil: blocked by policy (vigil/ssh-exec-non-literal)');
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a target whose host key is not the pinned one', () => {
    expect(results['mismatch']!.code).toBe(1);
    expect(results['mismatch']!.stderr).toMatch(/presented a host key that is not pinned/);
    expect(results['mismatch']!.stdout).toBe('');
  });

  it('refuses a client key listed for no identity', () => {
    expect(results['unlisted']!.code).toBe(255);
    expect(results['unlisted']!.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('holds a command that needs approval, tells the client how, and runs it once approved', () => {
    expect(heldRequest).toMatch(/^apr_/);
    expect(results['held']).toMatchObject({ code: 0, stdout: `${SSH_USER}\n` });
    expect(results['held']!.stderr).toContain(`vigil: this command needs approval (deploy/id-needs-approval): request ${heldRequest}`);
  });

  it('refuses a target no policy grants, and a login the target does not list', () => {
    expect(results['noTarget']).toMatchObject({ code: 1, stdout: '' });
    expect(results['noTarget']!.stderr).toContain('vigil: blocked by policy (access): no policy grants deploy-bot access to target "nosuch"');
    expect(results['badLogin']).toMatchObject({ code: 1, stdout: '' });
    expect(results['badLogin']!.stderr).toContain('vigil: blocked by policy (vigil/login): target "web" does not allow logging in as "root"');
  });

  it('gives an exec the terminal it asked for (ssh -tt) and refuses agent forwarding (the command runs, told so)', () => {
    expect(results['pty']).toMatchObject({ code: 0, stdout: 'with-tty\r\n' });
    expect(results['agent']).toMatchObject({ code: 0, stdout: 'agent-was-asked\n' });
    expect(results['agent']!.stderr).toContain('vigil: agent forwarding is refused by this Vigil version; the command runs without it');
  });

  it('refuses remote forwarding (ssh -R): OpenSSH warns, the command still runs', () => {
    expect(results['remoteForward']).toMatchObject({ code: 0, stdout: 'still-runs\n' });
    expect(results['remoteForward']!.stderr).toMatch(/remote port forwarding failed/);
  });

  it('runs an interactive shell without a terminal (stdin at EOF: it ends at once)', () => {
    expect(results['shell']!.code).toBe(0);
    expect(results['shell']!.stderr).not.toMatch(/not supported/);
  });
});

describe('the evidence', () => {
  it('verifies with the real verifier', () => {
    expect(failures(evidence.report)).toEqual([]);
    expect(evidence.report.ok).toBe(true);
  });

  it('the signed log names who connected to what for every SSH session, and the verifier cross-checked it', () => {
    const inclusion = evidence.report.checks.find((c) => c.id === 'log-inclusion')!;
    const m = /identity and target of (\d+) of (\d+) session(?:s|\(s\))? with a proven identity agree with the signed log/.exec(inclusion.summary ?? '');
    expect(m, inclusion.summary).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(2);
    expect(m![1]).toBe(m![2]);
    expect(inclusion.summary).not.toMatch(/identity not in the signed log/);
  });

  it('records the allowed exec: identity, command, decision, channel, output, exit status', () => {
    const s = sessionWith((e) => e.type === 'command' && e['text'] === 'echo hello');
    const types = s.map((e) => e.type);
    expect(s.find((e) => e.type === 'identity.verified')).toMatchObject({ method: 'ssh-key', subject: 'deploy-bot', groups: ['deployers'] });
    expect(s.find((e) => e.type === 'decision' && e['scope'] === 'session')).toMatchObject({ decision: 'allow', rule: 'deploy/access', target: 'web' });
    const cmd = s.find((e) => e.type === 'command')!;
    expect(cmd).toMatchObject({ kind: 'exec', channel: 0, classification: [{ class: 'exec', command: 'echo', tags: [], tables: [] }] });
    expect(s.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'allow' });
    expect(s.find((e) => e.type === 'channel.open')).toMatchObject({ channel: 0, kind: 'exec', command: 'echo hello' });
    const out = s.filter((e) => e.type === 'output');
    expect(Buffer.concat(out.map((e) => e.data!)).toString()).toBe('hello\n');
    expect(out[0]).toMatchObject({ channel: 0, stream: 'stdout' });
    expect(s.find((e) => e.type === 'channel.close')).toMatchObject({ channel: 0, exitStatus: 0, exitSignal: null });
    // Recorded before it was forwarded: the decision precedes every output byte.
    expect(types.indexOf('decision', types.indexOf('command'))).toBeLessThan(types.indexOf('output'));
  });

  it('records the masked output, never the clear card number', () => {
    const s = sessionWith((e) => e.type === 'command' && String(e['text']).includes('printf'));
    expect(Buffer.concat(s.filter((e) => e.type === 'output').map((e) => e.data!)).toString()).toBe('411111******1111\n');
  });

  it('records the split card number masked, in more than one output event', () => {
    const s = sessionWith((e) => e.type === 'command' && String(e['text']).includes('sleep 0.4'));
    const out = s.filter((e) => e.type === 'output');
    expect(out.length).toBeGreaterThan(1);
    expect(Buffer.concat(out.map((e) => e.data!)).toString()).toBe('paid 4111 11** **** 1111 ok\n');
  });

  it('records refused requests as notices', () => {
    const requests = sessions()
      .flat()
      .filter((e) => e.type === 'notice' && e['kind'] === 'request-refused')
      .map((e) => e['request']);
    expect(requests).toEqual(expect.arrayContaining(['agent forwarding']));
  });

  it('records the blocked exec as a block with no output', () => {
    const s = sessionWith((e) => e.type === 'command' && String(e['text']).startsWith('touch'));
    const cmd = s.find((e) => e.type === 'command')!;
    expect(s.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'block', rule: 'deploy/no-touch' });
    expect(s.some((e) => e.type === 'output')).toBe(false);
    expect(s.find((e) => e.type === 'channel.close')).toMatchObject({ exitStatus: 1, reason: 'blocked' });
  });

  it('records the held exec: hold, request, approval, release before its output', () => {
    const s = sessionWith((e) => e.type === 'command' && e['text'] === 'id -un');
    const seq = (p: (e: EvidenceEvent) => boolean) => s.find(p)?.seq ?? -1;
    expect(seq((e) => e.type === 'decision' && e['decision'] === 'hold')).toBeGreaterThan(0);
    expect(seq((e) => e.type === 'approval.requested')).toBeGreaterThan(seq((e) => e.type === 'decision' && e['decision'] === 'hold'));
    const released = seq((e) => e.type === 'command.released');
    expect(released).toBeGreaterThan(seq((e) => e.type === 'decision' && e['decision'] === 'approved'));
    expect(released).toBeLessThan(seq((e) => e.type === 'output'));
    expect(evidence.report.approvals?.find((a) => a.requestId === heldRequest)).toMatchObject({ outcome: 'approved', ran: true });
  });

  it('a held exec with a CVV next to a card number: redacted for the approver, in vigil.db and in the recording; run as sent', () => {
    expect(cvvRequest, 'the exec was held').toBeDefined();
    expect(cvvShown).toMatch(/wc -c/);
    expect(cvvShown, 'what the approvals API shows').not.toMatch(CLEAR_CODE);
    expect(cvvShown).not.toMatch(/4111 1111 1111 1111/);
    const dataDir = join(f.dir, 'appliance', 'data');
    const db = readdirSync(dataDir).filter((n) => n.startsWith('vigil.db')).map((n) => readFileSync(join(dataDir, n)).toString('latin1')).join('\n');
    expect(db, 'vigil.db and its WAL').not.toMatch(CLEAR_CODE);
    expect(results['heldCvv']).toMatchObject({ code: 0 });
    expect(results['heldCvv']!.stdout.split('\n')[0]!.trim()).toBe(String(CVV_NOTE.length));
    const s = sessionWith((e) => e.type === 'approval.requested' && e['requestId'] === cvvRequest);
    for (const e of s) expect(JSON.stringify(e), `event ${e.seq} (${e.type})`).not.toMatch(CLEAR_CODE);
    const cmd = s.find((e) => e.type === 'command')!;
    expect(String(cmd['text'])).toMatch(/cvv \[REDACTED/i);
    expect(s.filter((e) => e.type === 'decision' && e['command'] === cmd['id']).map((e) => e['decision'])).toEqual(['hold', 'approved']);
  });

  it('records the host key mismatch with the key the target presented', () => {
    const s = sessionWith((e) => e.type === 'error' && e['code'] === 'E_SSH_HOST_KEY_MISMATCH');
    const err = s.find((e) => e.type === 'error')!;
    expect(err['presentedHostKey']).toMatch(/^SHA256:/);
    const cmd = s.find((e) => e.type === 'command')!;
    expect(s.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'block', rule: 'vigil/host-key' });
  });

  it('records the unlisted key as an identity rejection', () => {
    const s = sessionWith((e) => e.type === 'identity.rejected');
    expect(s.find((e) => e.type === 'identity.rejected')).toMatchObject({ method: 'ssh-key', code: 'E_SSH_KEY_UNLISTED' });
    expect(s.some((e) => e.type === 'identity.verified')).toBe(false);
  });

  it('holds no private key bytes, in the archives or the logs', () => {
    const secrets = [f.sshd.userKeyPath, f.botKey, join(f.dir, 'appliance', 'keys', 'ssh_host_ed25519_key')].map((p) =>
      readFileSync(p, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'))
        .join(''),
    );
    const everything = sessions()
      .flat()
      .map((e) => JSON.stringify({ ...e, data: undefined }) + (e.data ? Buffer.from(e.data).toString('latin1') : ''))
      .join('\n') + f.logs();
    for (const s of secrets) {
      expect(s.length).toBeGreaterThan(100);
      for (let i = 0; i + 24 <= s.length; i += 24) expect(everything).not.toContain(s.slice(i, i + 24));
    }
  });
});
