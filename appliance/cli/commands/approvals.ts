/**
 * `vigil approvals list | show ID | approve ID [--reason] | deny ID --reason`: the approver's client of the
 * admin HTTPS API, authenticated with the approver's own identity token (VIGIL_TOKEN or --token-file).
 */
import type { ApprovalRecord } from '../../approvals/types.ts';
import { plural } from '../../../shared/text/plural.ts';
import { call, common, connection } from '../admin-client.ts';
import { EXIT, UsageError, defineCommand, parseCommand } from '../command.ts';

const specs = {
  list: defineCommand({ name: 'approvals list', summary: 'List approval requests (pending first).', options: { ...common, status: { type: 'string', value: 'STATUS', description: 'pending, approved, denied, expired or cancelled' } } }),
  show: defineCommand({ name: 'approvals show', summary: 'Show one approval request in full.', positionals: ['ID'], options: common }),
  approve: defineCommand({
    name: 'approvals approve',
    summary: 'Approve exactly the held command of request ID.',
    positionals: ['ID'],
    options: { ...common, reason: { type: 'string', value: 'TEXT', description: 'why (recorded with your decision)' } },
    examples: ['VIGIL_TOKEN=$(my-idp token) vigil approvals approve apr_Q2M9X… --reason "CHG-4411" --config /var/lib/vigil/vigil.yaml'],
  }),
  deny: defineCommand({
    name: 'approvals deny',
    summary: 'Deny request ID; the client gets your reason with SQLSTATE 42501.',
    positionals: ['ID'],
    options: { ...common, reason: { type: 'string', value: 'TEXT', description: 'why (required)', required: true } },
  }),
};

function summary(a: ApprovalRecord): string {
  const approvals = a.decisions.filter((d) => d.decision === 'approve').length;
  return [
    `${a.id}  ${a.status.toUpperCase()}${a.status === 'pending' ? ` (${approvals}/${a.approvers.required} approvals, expires ${a.expiresAt})` : ''}`,
    `  requester   ${a.requester.subject} (${a.requester.issuer})`,
    `  target      ${a.target}   session #${a.sessionSeq} ${a.sessionId}`,
    `  rule        ${a.rule}: ${a.reason}`,
    `  command     ${a.command}`,
    ...(a.justification ? [`  justified   ${a.justification}`] : []),
    `  approvers   ${a.approvers.required} of groups ${a.approvers.groups.join(', ')}`,
    `  hash        ${a.commandHash}`,
    ...a.decisions.map((d) => `  ${d.decision === 'approve' ? 'approved by' : 'denied by  '} ${d.approver.subject} at ${d.at}${d.reason ? `: ${d.reason}` : ''}${d.address ? ` (from ${d.address})` : ''}`),
    ...(a.outcomeReason ? [`  outcome     ${a.outcomeReason}`] : []),
  ].join('\n');
}

export async function approvals(argv: string[]): Promise<number> {
  const sub = argv[0] as keyof typeof specs | undefined;
  if (!sub || !Object.hasOwn(specs, sub)) {
    process.stderr.write(`vigil: 'approvals' needs a subcommand: ${Object.keys(specs).join(', ')}\n`);
    return EXIT.usage;
  }
  const spec = specs[sub];
  const a = parseCommand(spec as typeof specs.approve, argv.slice(1));
  if (!a) return EXIT.ok;
  const c = connection(a.values, spec.name);
  const out = (x: unknown, text: string) => process.stdout.write(a.values.json ? JSON.stringify(x, null, 2) + '\n' : text + '\n');
  if (sub === 'list') {
    const status = (a.values as { status?: string }).status;
    const r = await call(c, 'GET', `/v1/approvals${status ? `?status=${encodeURIComponent(status)}` : ''}`);
    const list = r['approvals'] as ApprovalRecord[];
    out(r, list.length ? list.map(summary).join('\n\n') : 'no approval requests');
    return EXIT.ok;
  }
  const id = a.positionals[0]!;
  if (!/^apr_[A-Za-z0-9_-]+$/.test(id)) throw new UsageError(`'${id}' is not an approval id (apr_…)`, spec.name);
  if (sub === 'show') {
    const r = await call(c, 'GET', `/v1/approvals/${id}`);
    out(r, summary(r['approval'] as ApprovalRecord));
    return EXIT.ok;
  }
  const r = await call(c, 'POST', `/v1/approvals/${id}/${sub}`, { reason: a.values.reason });
  const rec = r['approval'] as ApprovalRecord;
  const missing = rec.approvers.required - rec.decisions.filter((d) => d.decision === 'approve').length;
  const what =
    rec.status === 'approved'
      ? `approved ${id}: the held command runs now`
      : rec.status === 'denied'
        ? `denied ${id}: the client gets your reason`
        : `approved ${id}: waiting for ${plural(missing, 'more approver')}`;
  out(r, what);
  return EXIT.ok;
}
