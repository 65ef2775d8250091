/** Shell-style globs for names in policy ('*' any run, '?' one character); everything else literal. */
const cache = new Map<string, RegExp>();

export function globMatch(pattern: string, value: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    cache.set(pattern, re);
  }
  return re.test(value);
}

export function anyGlob(patterns: readonly string[] | undefined, values: readonly string[]): boolean {
  if (!patterns) return true;
  return patterns.some((p) => values.some((v) => globMatch(p, v)));
}
