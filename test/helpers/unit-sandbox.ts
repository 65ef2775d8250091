/**
 * A systemd unit's command line run under as much of its sandbox as can be applied without systemd as
 * PID 1 (CI containers): the settings are read from the unit file itself, each applied by the tool the
 * kernel offers — a private mount and UTS namespace (`unshare`) set up by a root shell script, then
 * `setpriv` to drop to the unit's user with no capability and no_new_privs. What needs systemd itself
 * (seccomp filters, address-family and namespace restrictions, cgroup device policy, a private user
 * namespace) is listed in `notApplied`, never silently skipped. docs/operations.md says the same.
 *
 *   const sb = unitSandbox(readFileSync('/lib/systemd/system/vigil.service', 'utf8'));
 *   spawn(sb.cmd, sb.args(['/usr/bin/vigil', 'serve', '--config', …]));
 */

export interface UnitSandbox {
  cmd: 'unshare';
  args(argv: string[]): string[];
  /** The unit's settings this sandbox applies (directive=value as written in the unit). */
  applied: string[];
  /** The unit's sandbox settings it cannot apply without systemd. */
  notApplied: string[];
}

/** What each applicable directive does here, as shell run as root inside the new mount namespace. */
const APPLY: Record<string, (v: string, rw: string[]) => string | undefined> = {
  // A fresh procfs where the service user sees only its own processes (before the read-only binds below).
  ProtectProc: (v) => (v === 'invisible' ? 'mount -t proc -o nosuid,nodev,noexec,hidepid=invisible proc /proc' : undefined),
  ProtectSystem: (v, rw) =>
    v === 'strict'
      ? [
          ...rw.map((p) => `mount --bind ${p} ${p}`),
          // Every mount read-only but the API file systems (/proc, /dev, /sys: the Protect*/Private* settings
          // below handle those, as systemd's strict does) and the writable paths; remounted per mount point.
          `for mp in $(awk '{print $5}' /proc/self/mountinfo); do case "$mp" in /proc|/proc/*|/dev|/dev/*|/sys|/sys/*${rw.map((p) => `|${p}`).join('')}) continue ;; esac; mount -o remount,bind,ro "$mp"; done`,
        ].join('\n')
      : undefined,
  ProtectKernelTunables: (v) =>
    v === 'yes'
      ? [
          'for p in /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus /proc/fs; do [ -e "$p" ] || continue; mount --bind "$p" "$p"; mount -o remount,bind,ro "$p"; done',
          `for mp in $(awk '$5 == "/sys" || ($5 ~ "^/sys/" && $5 !~ "^/sys/fs/cgroup") {print $5}' /proc/self/mountinfo); do mount -o remount,bind,ro "$mp"; done`,
        ].join('\n')
      : undefined,
  ProtectControlGroups: (v) =>
    v === 'yes' ? `for mp in $(awk '$5 ~ "^/sys/fs/cgroup" {print $5}' /proc/self/mountinfo); do mount -o remount,bind,ro "$mp"; done` : undefined,
  PrivateTmp: (v) => (v === 'yes' ? 'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp\nmount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp' : undefined),
  ProtectHome: (v) => (v === 'yes' ? 'for d in /home /root /run/user; do [ -d "$d" ] && mount -t tmpfs -o ro,mode=000 tmpfs "$d"; done; true' : undefined),
  // A /dev with only the pseudo-devices (null, zero, full, random, urandom, tty), shm, pts and the fd links.
  PrivateDevices: (v) =>
    v === 'yes'
      ? [
          'mkdir /tmp/.dev && mount -t tmpfs -o mode=755,nosuid,noexec tmpfs /tmp/.dev',
          'for n in null zero full random urandom tty; do touch /tmp/.dev/$n; mount --bind /dev/$n /tmp/.dev/$n; done',
          'mkdir /tmp/.dev/shm /tmp/.dev/pts && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp/.dev/shm',
          'ln -s /proc/self/fd /tmp/.dev/fd; for i in 0:stdin 1:stdout 2:stderr; do ln -s /proc/self/fd/${i%%:*} /tmp/.dev/${i#*:}; done',
          'mount -n --move /tmp/.dev /dev && rmdir /tmp/.dev',
        ].join('\n')
      : undefined,
  ProtectHostname: (v) => (v === 'yes' ? 'hostname vigil-sandbox' : undefined), // in the new UTS namespace only
  PrivateMounts: (v) => (v === 'yes' ? ':' : undefined), // the whole run is in its own mount namespace
  ReadWritePaths: () => ':', // applied with ProtectSystem above
  UMask: (v) => `umask ${v}`,
  // Applied by setpriv (below).
  User: () => ':',
  Group: () => ':',
  NoNewPrivileges: (v) => (v === 'yes' ? ':' : undefined),
  CapabilityBoundingSet: (v) => (v === '' ? ':' : undefined),
  AmbientCapabilities: (v) => (v === '' ? ':' : undefined),
};

/** Sandbox directives this cannot apply without systemd (seccomp, cgroups, user namespace, kernel knobs). */
const SYSTEMD_ONLY = new Set([
  'PrivateUsers', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectClock', 'RestrictAddressFamilies',
  'RestrictNamespaces', 'RestrictRealtime', 'RestrictSUIDSGID', 'LockPersonality', 'RemoveIPC', 'DevicePolicy', 'SystemCallArchitectures',
  'SystemCallFilter', 'SystemCallErrorNumber',
]);

export function unitSandbox(unit: string): UnitSandbox {
  const service = unit.split(/^\[Service\]$/m)[1]?.split(/^\[/m)[0] ?? '';
  const directives = [...service.matchAll(/^([A-Za-z]+)=(.*)$/gm)].map((m) => ({ key: m[1]!, value: m[2]!.trim() }));
  const get = (k: string) => directives.filter((d) => d.key === k).map((d) => d.value);
  const user = get('User')[0];
  const group = get('Group')[0];
  if (!user || !group) throw new Error('the unit names no User=/Group=: nothing to drop to');
  if (get('CapabilityBoundingSet')[0] !== '' || get('NoNewPrivileges')[0] !== 'yes') throw new Error('the unit does not empty the capability set with NoNewPrivileges: setpriv below would not match it');
  const rw = get('ReadWritePaths').flatMap((v) => v.split(/\s+/)).filter(Boolean);
  const applied: string[] = [];
  const notApplied: string[] = [];
  const script: string[] = ['set -eu'];
  // In the unit's order of effect: procfs first (a new mount would hide the read-only binds), /tmp before /dev.
  const order = ['ProtectProc', 'ProtectSystem', 'ProtectKernelTunables', 'ProtectControlGroups', 'PrivateTmp', 'ProtectHome', 'PrivateDevices', 'ProtectHostname', 'UMask'];
  const sorted = [...directives].sort((a, b) => (order.indexOf(a.key) + 1 || 99) - (order.indexOf(b.key) + 1 || 99));
  for (const d of sorted) {
    const shell = APPLY[d.key]?.(d.value, rw);
    if (shell !== undefined) {
      applied.push(`${d.key}=${d.value}`);
      if (shell !== ':') script.push(shell);
    } else if (SYSTEMD_ONLY.has(d.key) || d.key.startsWith('Protect') || d.key.startsWith('Private') || d.key.startsWith('Restrict')) {
      notApplied.push(`${d.key}=${d.value}`);
    }
  }
  script.push('exec "$@"');
  const setpriv = ['setpriv', `--reuid=${user}`, `--regid=${group}`, '--init-groups', '--no-new-privs', '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all'];
  return {
    cmd: 'unshare',
    args: (argv) => ['--mount', '--uts', '--propagation', 'private', 'sh', '-c', script.join('\n'), 'unit-sandbox', ...setpriv, ...argv],
    applied,
    notApplied,
  };
}
