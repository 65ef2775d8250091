#!/bin/sh
# Installs the Debian packages the tests use (real PostgreSQL, sshd, PgBouncer, Chromium…), only those
# missing. As root (CI) it runs apt-get; otherwise it prints the command to run.
set -eu
missing=""
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || missing="$missing $2"; }

need /usr/lib/postgresql/15/bin/initdb postgresql
need /usr/sbin/sshd openssh-server
need pgbouncer pgbouncer
need /usr/bin/chromium chromium
need xvfb-run xvfb
need kubectl kubernetes-client
need tmux tmux
need rsync rsync
need asciinema asciinema
# The built appliance and its .deb (test/appliance-build): dpkg-deb, dpkg -i, systemd-analyze, setpriv.
need dpkg-deb dpkg
need adduser adduser
need systemd-analyze systemd
need setpriv util-linux
# The chain in deb.test.ts runs its first part on a clock moved back a year (libfaketime).
need faketime faketime
# The fleet tests put HAProxy (TCP mode) in front of several appliances.
need /usr/sbin/haproxy haproxy
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages:$missing" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "missing system packages:$missing" >&2
  echo "install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi
