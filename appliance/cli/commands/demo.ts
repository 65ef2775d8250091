/**
 * `vigil demo` (the README's first command): the gateway end to end on an embedded PostgreSQL, then the
 * evidence exported and verified offline; the gateway then stays up for trying psql by hand.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { exportAndVerify, runBot, startDemoEnvironment } from '../../demo/gateway-demo.ts';
import { runSshBot, seedDemoHost, writeKnownHosts } from '../../demo/ssh-demo.ts';
import { missingSshTools, sshKeygen, startDemoSshTarget } from '../../demo/ssh-target.ts';
import { Gateway } from '../../gateway.ts';
import { createLogger } from '../../logger.ts';
import { VIGIL_COMMAND } from '../../build-info.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';
import { formatReport } from '../format-report.ts';

const spec = defineCommand({
  name: 'demo',
  summary: 'Run the end-to-end demo: embedded PostgreSQL, gateway, a CI bot with an OIDC token, masked rows, a blocked DROP; an SSH bot through a local sshd (when installed): masked cat, blocked sudo, an approved command; verified evidence.',
  description: 'Needs nothing but Node. With a terminal it keeps the gateway running afterwards so you can try psql; --exit stops at the end.',
  options: {
    dir: { type: 'string', value: 'DIR', description: 'where to keep the demo files (default: a new temp directory)' },
    exit: { type: 'boolean', description: 'stop after verifying instead of serving for psql' },
  },
});

export async function demo(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const out = (s = '') => process.stdout.write(s + '\n');
  out('1. Starting an embedded PostgreSQL (PGlite) whose customers table holds card numbers and CVVs.');
  const logFile = (dir: string) => createLogger({ destination: join(dir, 'gateway.log') });
  const { mkdirSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = a.values.dir ?? mkdtempSync(join(tmpdir(), 'vigil-demo-'));
  // --dir may name a directory that does not exist yet: the log file is opened in it next.
  mkdirSync(dir, { recursive: true });
  const logger = logFile(dir);
  const noSsh = missingSshTools();
  const sshTarget = noSsh ? undefined : await startDemoSshTarget(join(dir, 'ssh-target'));
  const botKey = join(dir, 'deploy_bot');
  const ssh = sshTarget ? { target: sshTarget, botPublicKey: sshKeygen(botKey, 'deploy-bot@ci') } : undefined;
  if (sshTarget) seedDemoHost(sshTarget);
  const env = await startDemoEnvironment({ dir, logger, ...(ssh ? { ssh } : {}) });
  out(`2. Vigil is serving PostgreSQL on 127.0.0.1:${env.port} (TLS), in front of it, with a policy for CI bots.`);
  out(`3. A CI bot holding only its OIDC token (from a local test identity provider) connects with node-postgres:`);
  const token = (await import('node:fs')).readFileSync(env.tokenPath, 'utf8').trim();
  await runBot(
    env,
    token,
    [
      { say: 'it reads customers — card numbers come back masked, CVVs redacted:', sql: 'SELECT id, name, card_number, cvv FROM customers ORDER BY id' },
      { say: 'it tries to drop the table — policy blocks it, and the session goes on:', sql: 'DROP TABLE customers' },
      { say: 'it counts the rows — still all there:', sql: 'SELECT count(*) FROM customers' },
      {
        say: 'it closes an account — a write, so the command is held until a human approves exactly it:',
        sql: "UPDATE accounts SET status = 'closed' WHERE id = 88231 -- vigil:justification=CHG-4411 customer request",
        approve: 'matches CHG-4411',
      },
    ],
    out,
  );
  if (sshTarget && env.sshPort) {
    const knownHostsPath = join(dir, 'known_hosts');
    writeKnownHosts(knownHostsPath, env.sshPort, readFileSync(join(dir, 'appliance', 'keys', 'ssh_host_ed25519_key.pub'), 'utf8'));
    out(`   A deploy bot runs the real OpenSSH ssh through Vigil (127.0.0.1:${env.sshPort}) to a real sshd:`);
    const home = sshTarget.home;
    await runSshBot(
      env,
      { keyPath: botKey, knownHostsPath },
      [
        { say: 'it reads an order export — the card numbers in the output come back masked:', command: `cat ${home}/orders.csv` },
        { say: 'it tries sudo — blocked by policy, nothing reaches the host:', command: 'sudo systemctl restart nginx' },
        { say: 'it switches the release — held until a human approves exactly this command line:', command: `cd ${home} && ln -sfn releases/42 current`, approve: 'release 42, CHG-4412' },
        { say: 'the switch happened only after the approval:', command: `readlink ${home}/current` },
      ],
      out,
    );
  } else {
    out(`   (SSH part skipped: ${noSsh ?? 'the gateway did not start its SSH listener'})`);
  }
  out('4. The sessions are sealed, exported as one bundle and verified offline with the auditor key:');
  out();
  const { bundle, report } = await exportAndVerify(env);
  out(formatReport(report, bundle).replace(/^/gm, '   '));
  const keep = !a.values.exit && process.stdin.isTTY;
  const verifyCmd = `${VIGIL_COMMAND} verify ${bundle} --trust ${env.trustPath} --key ${env.auditorKeyPath}`;
  if (!keep) {
    await env.stopTarget();
    await sshTarget?.stop();
    out(`Files are in ${env.dir}. Verify again with:\n  ${verifyCmd}`);
    out(`Run it with a terminal (or without --exit) to keep the gateway up and try psql by hand.`);
    logger.flush();
    return report.ok ? EXIT.ok : EXIT.failed;
  }
  const gateway = await Gateway.start(env.configPath, { logger });
  out(`5. The gateway is running again on 127.0.0.1:${gateway.addresses.postgres!.port}. Try it by hand (Ctrl-C to stop):`);
  out(`     PGPASSWORD=$(cat ${env.tokenPath}) psql "host=127.0.0.1 port=${gateway.addresses.postgres!.port} dbname=payments user=ci-bot sslmode=require"`);
  if (sshTarget && gateway.addresses['ssh'])
    out(`     ssh -p ${gateway.addresses['ssh'].port} -i ${botKey} -o IdentitiesOnly=yes -o UserKnownHostsFile=${join(dir, 'known_hosts')} web@127.0.0.1 'cat ${sshTarget.home}/orders.csv'`);
  out(`   a write waits for approval; approve it as ${'alice@acme.example'} from another terminal:`);
  out(`     ${VIGIL_COMMAND} approvals list --config ${env.configPath} --token-file ${env.approverTokenPath}`);
  out(`     ${VIGIL_COMMAND} approvals approve <apr_id> --config ${env.configPath} --token-file ${env.approverTokenPath}`);
  out(`   afterwards, export and verify what you did:`);
  out(`     ${VIGIL_COMMAND} export --config ${env.configPath} --out ${join(env.dir, 'mine.vigil')}`);
  out(`     ${VIGIL_COMMAND} verify ${join(env.dir, 'mine.vigil')} --trust ${env.trustPath} --key ${env.auditorKeyPath}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gateway.stop();
  await env.stopTarget();
  await sshTarget?.stop();
  logger.flush();
  return report.ok ? EXIT.ok : EXIT.failed;
}
