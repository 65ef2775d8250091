#!/bin/sh
# Builds the real Kubernetes API server the Kubernetes-gateway tests run against: kube-apiserver from the
# k8s.io/kubernetes Go module (test/kube/apiserver), kine, the etcd API over SQLite (test/kube/kine), and
# the node fixture, a stand-in kubelet serving exec/attach/logs/port-forward (test/kube/apiserver/nodefixture).
# Test infrastructure only; the product stays TypeScript.
#
# Idempotent: the binaries land in .cache/kube/<key>/, where <key> is the Kubernetes and kine versions,
# `go version` and a hash of test/kube's go.mod/go.sum/*.go files and this script. A second run with the same key only
# checks the binaries and prints the directory (well under a second). The Go module and build caches live in
# .cache/kube/go/ (ignored), never in ~/go or ~/.cache, so a clean CI machine starts from nothing and a
# developer machine keeps what it downloaded and compiled.
#
# Prints the binary directory (which holds kube-apiserver, kine and nodefixture) as its last line on stdout.
# Environment: VIGIL_KUBE_CACHE overrides .cache/kube (e.g. a CI cache volume).
# A cold build (downloads included; ~3.9 GiB of Go caches, 180 MiB of binaries) took 11 min 31 s for all
# three on the project's 2-core machine (12 min 49 s for the first two under heavier load); a warm run ~10 ms.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIGIL_KUBE_CACHE:-$root/.cache/kube}

command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
  echo "ensure-kube: Go is not installed (needed to build kube-apiserver and kine for the tests)" >&2
  exit 1
}
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin

# The version a go.mod requires (`require m v…` or a line of a require block; replace lines have `=>`).
required() { sed -n "s#^\(require \)\{0,1\}[[:space:]]*$1 \(v[0-9.]*\)\$#\2#p" "$2" | head -n 1; }
kube_version=$(required k8s.io/kubernetes "$root/test/kube/apiserver/go.mod")
kine_version=$(required github.com/k3s-io/kine "$root/test/kube/kine/go.mod")
[ -n "$kube_version" ] && [ -n "$kine_version" ] || {
  echo "ensure-kube: cannot read the k8s.io/kubernetes or kine version from test/kube/*/go.mod" >&2
  exit 1
}
go_version=$(go env GOVERSION)
digest=$(cd "$root/test/kube" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort |
  xargs cat "$root/scripts/ensure-kube.sh" | sha256sum | cut -c1-12)
key="kube-$kube_version-kine-$kine_version-$go_version-$digest"
bin="$cache/$key"

built() { [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kine" ] && [ -x "$bin/nodefixture" ] && [ -f "$bin/.complete" ]; }
if built; then
  echo "$bin"
  exit 0
fi

# Two test files (or a test and CI) may ask at once: one builds, the other waits and reuses the result.
mkdir -p "$cache"
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
  if built; then
    echo "$bin"
    exit 0
  fi
fi

echo "ensure-kube: building kube-apiserver $kube_version and kine $kine_version with $go_version into $bin" >&2
echo "ensure-kube: the first build takes about 12 min on 2 cores (later runs reuse it)" >&2
start=$(date +%s)
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0 GOWORK=off
tmp="$bin.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

minor=${kube_version#v1.}
minor=${minor%%.*}
(cd "$root/test/kube/apiserver" && go build -trimpath -o "$tmp/kube-apiserver" -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$kube_version \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor \
  -X k8s.io/component-base/version.gitTreeState=clean \
  -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z" \
  k8s.io/kubernetes/cmd/kube-apiserver)
# The stand-in kubelet for exec/attach/logs/port-forward (test/kube/apiserver/nodefixture).
(cd "$root/test/kube/apiserver" && go build -trimpath -o "$tmp/nodefixture" -ldflags "-s -w" ./nodefixture)
(cd "$root/test/kube/kine" && go build -trimpath -o "$tmp/kine" -ldflags "-s -w \
  -X github.com/k3s-io/kine/pkg/version.Version=$kine_version" \
  github.com/k3s-io/kine)

"$tmp/kube-apiserver" --version >&2
"$tmp/kine" --version >&2 || true
touch "$tmp/.complete"
rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
# Binaries of other versions (≈ 135 MiB each) are stale once these are built.
for old in "$cache"/kube-*; do
  [ "$old" = "$bin" ] || [ ! -d "$old" ] || rm -rf "$old"
done
echo "ensure-kube: built in $(($(date +%s) - start)) s" >&2
echo "$bin"
