/**
 * Target selection in the SSH user name: `target` logs in as the target's configured `user`;
 * `login+target` asks for another account, which the target must list in `logins` (or be its `user`).
 * The split is at the last '+', since target names cannot hold one.
 */
export interface TargetSelection {
  target: string;
  login: string | undefined;
}

export function parseUserName(name: string): TargetSelection {
  const at = name.lastIndexOf('+');
  if (at < 0) return { target: name, login: undefined };
  return { target: name.slice(at + 1), login: name.slice(0, at) || undefined };
}
