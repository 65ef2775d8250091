#!/bin/sh
# Builds the S3-compatible server the shipping tests run against: versitygw (Versity S3 Gateway, Apache-2.0,
# github.com/versity/versitygw) from the Go module proxy, with its posix backend, which implements
# versioning and Object Lock (compliance and governance retention, legal hold). Test infrastructure only.
#
# Idempotent: the binary lands in .cache/s3/<key>/versitygw, where <key> is the versitygw version,
# `go version` and a hash of this script. A warm run only checks the binary (a few ms); the Go module and
# build caches live in .cache/s3/go/ (ignored), never in ~/go. A cold build took 89 s to 1 min 46 s on the
# project's busy 2-core machine (downloads included; ≈ 45 MB binary, ≈ 800 MB of Go caches).
#
# Prints the binary's path as its last line on stdout. VIGIL_S3_CACHE overrides .cache/s3.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIGIL_S3_CACHE:-$root/.cache/s3}
version=v1.8.0

command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
  echo "ensure-s3: Go is not installed (needed to build versitygw for the shipping tests)" >&2
  exit 1
}
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin

digest=$(sha256sum "$root/scripts/ensure-s3.sh" | cut -c1-12)
key="versitygw-$version-$(go env GOVERSION)-$digest"
bin="$cache/$key"
built() { [ -x "$bin/versitygw" ] && [ -f "$bin/.complete" ]; }
if built; then
  echo "$bin/versitygw"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
  if built; then
    echo "$bin/versitygw"
    exit 0
  fi
fi

echo "ensure-s3: building versitygw $version into $bin (about 2 min on 2 cores the first time)" >&2
start=$(date +%s)
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOTOOLCHAIN=local GOFLAGS="-buildvcs=false" CGO_ENABLED=0 GOWORK=off
tmp="$bin.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$version"
"$tmp/versitygw" --version >/dev/null
touch "$tmp/.complete"
rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
echo "ensure-s3: built in $(( $(date +%s) - start )) s" >&2
echo "$bin/versitygw"
