/**
 * The `vigil` command. Exit status: 0 ok, 1 verification or operation failed, 2 usage or config error.
 */
import { versionLine } from '../build-info.ts';
import { useCryptoBackend } from '../../shared/crypto/backend.ts';
import { VigilError } from '../../shared/errors.ts';
import { nativeBackend } from '../crypto/native-backend.ts';
import { EXIT } from './command.ts';
import { approvals } from './commands/approvals.ts';
import { backup, restore } from './commands/backup.ts';
import { demo } from './commands/demo.ts';
import { demoEvidence } from './commands/demo-evidence.ts';
import { doctor } from './commands/doctor.ts';
import { exportCommand } from './commands/export.ts';
import { fleetAdd, fleetList, fleetRetire, fleetSessions, fleetTrust, fleetWitness } from './commands/fleet.ts';
import { fleetVerify } from './commands/fleet-verify.ts';
import { init } from './commands/init.ts';
import { keysAuditor, keysRotate } from './commands/keys.ts';
import { kubeconfig, kubeCredential } from './commands/kube.ts';
import { recover } from './commands/recover.ts';
import { retentionHold, retentionHolds, retentionRelease, retentionRun } from './commands/retention.ts';
import { serve } from './commands/serve.ts';
import { shippingRun, shippingStatus } from './commands/shipping.ts';
import { sshCert } from './commands/ssh-cert.ts';
import { trust } from './commands/trust.ts';
import { verify } from './commands/verify.ts';

type Run = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Run; summary: string }> = {
  demo: { run: demo, summary: 'run the end-to-end demo (what `npm run demo` does)' },
  'demo-evidence': { run: demoEvidence, summary: 'write a sample evidence bundle, trust file and auditor keys' },
  serve: { run: serve, summary: 'run the gateway (PostgreSQL listener, identity, policy, masking, recording)' },
  init: { run: init, summary: 'make an appliance directory (config, signing key, trust.json)' },
  'keys auditor': { run: keysAuditor, summary: 'make an auditor key pair (optionally passphrase-protected)' },
  'keys rotate': { run: keysRotate, summary: 'rotate the appliance signing key' },
  'approvals list': { run: (a) => approvals(['list', ...a]), summary: 'list approval requests (admin API)' },
  'approvals show': { run: (a) => approvals(['show', ...a]), summary: 'show one approval request' },
  'approvals approve': { run: (a) => approvals(['approve', ...a]), summary: 'approve exactly one held command' },
  'approvals deny': { run: (a) => approvals(['deny', ...a]), summary: 'deny a held command, with a reason' },
  'ssh-cert': { run: sshCert, summary: 'trade your identity token and an SSH key for a short-lived certificate' },
  kubeconfig: { run: kubeconfig, summary: 'write a kubeconfig for a Kubernetes target through Vigil (token from a file)' },
  'kube-credential': { run: kubeCredential, summary: 'kubectl exec credential plugin: the identity token from a file' },
  export: { run: exportCommand, summary: 'write an evidence bundle for auditors' },
  verify: { run: verify, summary: 'verify a bundle offline against a trust file' },
  trust: { run: trust, summary: 'write a fresh trust file (keys + latest checkpoint)' },
  recover: { run: recover, summary: 'seal archives a crash left open as interrupted' },
  'retention run': { run: retentionRun, summary: 'purge archives past retention, with a signed purge record (--dry-run)' },
  'retention hold': { run: retentionHold, summary: 'place a legal hold on a session (never purged until released)' },
  'retention release': { run: retentionRelease, summary: 'release a legal hold' },
  'retention holds': { run: retentionHolds, summary: 'list the sessions on legal hold' },
  backup: { run: backup, summary: 'copy the appliance (database snapshot, archives, config, keys) into a directory' },
  restore: { run: restore, summary: 'restore a backup, refusing one older than a shipped or witnessed checkpoint' },
  'shipping run': { run: shippingRun, summary: 'ship sealed archives and the latest checkpoint to the Object Lock bucket now' },
  'shipping status': { run: shippingStatus, summary: 'shipping and retention health (pending, lag, last error, due for purge)' },
  'fleet add': { run: fleetAdd, summary: 'add this appliance to the fleet (a signed, logged event)' },
  'fleet retire': { run: fleetRetire, summary: 'retire an appliance from the fleet (a signed, logged event)' },
  'fleet list': { run: fleetList, summary: 'the fleet roster: members, keys, last checkpoint, cosignatures' },
  'fleet trust': { run: fleetTrust, summary: 'write the fleet trust file auditors pin' },
  'fleet witness': { run: fleetWitness, summary: "publish this appliance's checkpoint and cosign the others' now" },
  'fleet sessions': { run: fleetSessions, summary: 'the sessions the fleet served in a window, with the appliance that served each' },
  'fleet verify': { run: fleetVerify, summary: "verify a fleet's bundles and witness cosignatures offline" },
  doctor: { run: doctor, summary: 'check what breaks evidence or enforcement (pass/fail/unknown, with the fix)' },
};

const USAGE_CODES = new Set(['E_USAGE', 'E_CONFIG', 'E_EXISTS']);

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return (
    'Usage: vigil <command> [options]\n\nVigil: an access gateway for non-human identities, with offline-verifiable evidence.\n\nCommands:\n' +
    Object.entries(COMMANDS)
      .map(([k, c]) => `  ${k.padEnd(w)}${c.summary}`)
      .join('\n') +
    '\n\nRun `vigil <command> --help` for a command\'s options, `vigil --version` for the build.\n'
  );
}

export async function main(argv: string[]): Promise<number> {
  useCryptoBackend(nativeBackend());
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(usage());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    process.stdout.write(versionLine() + '\n');
    return EXIT.ok;
  }
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const name = COMMANDS[two] ? two : argv[0]!;
  const cmd = COMMANDS[name];
  if (!cmd) {
    const group = Object.keys(COMMANDS).filter((k) => k.startsWith(`${argv[0]} `));
    process.stderr.write(
      group.length
        ? `vigil: '${argv[0]}' needs a subcommand: ${group.map((g) => g.split(' ')[1]).join(', ')}\n`
        : `vigil: unknown command '${argv[0]}'\n\n${usage()}`,
    );
    return EXIT.usage;
  }
  try {
    return await cmd.run(argv.slice(name.split(' ').length));
  } catch (e) {
    if (e instanceof VigilError) {
      process.stderr.write(`vigil: error: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
      return USAGE_CODES.has(e.code) ? EXIT.usage : EXIT.failed;
    }
    process.stderr.write(`vigil: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failed;
  }
}

process.exitCode = await main(process.argv.slice(2));
