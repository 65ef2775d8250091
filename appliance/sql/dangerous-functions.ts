/**
 * Functions whose call makes a statement 'procedural': they read or list server files, move large objects
 * between the server's file system and the database, open connections to other servers, or act on other
 * sessions and the server process. Matched on the function's last name part (any schema, since a wrapper
 * of the same name in another schema is just as suspicious), case-insensitively; a trailing * is a prefix.
 *
 * set_config is not on the list: set_config('role' | 'session_authorization', …) is a role change and is
 * detected separately (classify-statement.ts), other settings are harmless.
 */
export const DEFAULT_DANGEROUS_FUNCTIONS: readonly string[] = [
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'lo_import',
  'lo_export',
  'dblink*',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
];

export type FunctionMatcher = (name: string) => boolean;

export function functionMatcher(patterns: readonly string[]): FunctionMatcher {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    const lower = p.toLowerCase();
    if (lower.endsWith('*')) prefixes.push(lower.slice(0, -1));
    else exact.add(lower);
  }
  return (name) => {
    const lower = name.toLowerCase();
    return exact.has(lower) || prefixes.some((p) => lower.startsWith(p));
  };
}
