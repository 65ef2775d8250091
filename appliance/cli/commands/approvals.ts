/**
 * `vigil approvals list | show ID | approve ID [--reason] | deny ID --reason`: the approver's client of the
 * admin HTTPS API, authenticated with the approver's own identity token (VIGIL_TOKEN or --token-file).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { VigilError } from '../../../shared/errors.ts';
import type { ApprovalRecord } from '../../approvals/types.ts';
import { loadConfig } from '../../config/load-config.ts';
import { EXIT, UsageError, defineCommand, parseCommand } from '../command.ts';

const common = {
  url: { type: 'string', value: 'URL', description: 'admin API (default: from --config, else https://127.0.0.1:8443)' },
  config: { type: 'string', value: 'FILE', description: 'vigil.yaml: takes the admin address and TLS certificate from it' },
  ca: { type: 'string', value: 'FILE', description: 'CA certificate to trust for the admin API (default with --config: its TLS certificate)' },
  'token-file': { type: 'string', value: 'FILE', description: 'your identity token (default: the VIGIL_TOKEN environment variable)' },
  json: { type: 'boolean', description: 'print JSON' },
} as const;

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

interface Conn {
  url: string;
  ca: Buffer | undefined;
  token: string;
}

function connection(v: { url?: string | undefined; config?: string | undefined; ca?: string | undefined; 'token-file'?: string | undefined }, command: string): Conn {
  let url = v.url;
  let ca = v.ca;
  if (v.config) {
    const loaded = loadConfig(v.config);
    const admin = loaded.config.listeners.admin;
    if (!admin) throw new VigilError('E_CONFIG', `${loaded.path} has no listeners.admin`, { hint: 'add listeners.admin (docs/approvals.md)' });
    url ??= `https://${admin.address}`;
    ca ??= loaded.resolvePath(admin.tls.cert);
  }
  url ??= 'https://127.0.0.1:8443';
  let token = process.env['VIGIL_TOKEN'] ?? '';
  if (v['token-file']) {
    try {
      token = readFileSync(v['token-file'], 'utf8').trim();
    } catch {
      throw new UsageError(`cannot read the token file ${v['token-file']}`, command);
    }
  }
  if (!token) throw new UsageError('no identity token: set VIGIL_TOKEN or give --token-file FILE', command);
  return { url: url.replace(/\/$/, ''), ca: ca ? readFileSync(ca) : undefined, token };
}

function call(c: Conn, method: 'GET' | 'POST', path: string, body?: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const req = request(
      `${c.url}${path}`,
      {
        method,
        headers: { authorization: `Bearer ${c.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        ...(c.ca ? { ca: c.ca } : {}),
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            return reject(new VigilError('E_ADMIN_API', `the admin API at ${c.url} answered HTTP ${res.statusCode} without JSON`));
          }
          const err = json['error'] as { code: string; message: string } | undefined;
          if (err) reject(new VigilError(err.code, err.message));
          else resolve(json);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => reject(new VigilError('E_ADMIN_API', `cannot reach the admin API at ${c.url}: ${e.message}`, { hint: 'check --url/--config; a self-signed certificate needs --ca (or --config)' })));
    req.end(payload);
  });
}

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
  if (!sub || !(sub in specs)) {
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
        : `approved ${id}: waiting for ${missing} more approver(s)`;
  out(r, what);
  return EXIT.ok;
}
