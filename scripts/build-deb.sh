#!/bin/sh
# Builds dist/vigil_VERSION_ARCH.deb with dpkg-deb: the bundle (scripts/build.ts) in /usr/lib/vigil, the
# /usr/bin/vigil wrapper, the systemd unit, /etc/vigil/vigil.env; postinst makes the vigil system user,
# /etc/vigil (root:vigil 0750) and /var/lib/vigil (vigil:vigil 0700). Usage: scripts/build-deb.sh [OUTDIR]
# (default dist/). Prints the path of the .deb. Needs dpkg-deb (Debian's dpkg) and the npm dependencies.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
outdir=${1:-$root/dist}
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb not found (apt-get install dpkg)" >&2; exit 1; }
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/vigil-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"

node bin/run-ts.mjs scripts/build.ts --out "$stage/usr/lib/vigil" >&2
version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)

install -d "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/vigil" "$stage/usr/share/doc/vigil" "$stage/DEBIAN"
cat > "$stage/usr/bin/vigil" <<'WRAP'
#!/bin/sh
# The installed vigil command: the bundle in /usr/lib/vigil, run by Debian's Node.
exec /usr/bin/node /usr/lib/vigil/vigil.js "$@"
WRAP
chmod 0755 "$stage/usr/bin/vigil"
install -m 0644 packaging/systemd/vigil.service "$stage/lib/systemd/system/vigil.service"
install -m 0640 packaging/deb/vigil.env "$stage/etc/vigil/vigil.env"
install -m 0644 docs/operations.md "$stage/usr/share/doc/vigil/operations.md"
for s in postinst prerm postrm; do install -m 0755 "packaging/deb/$s" "$stage/DEBIAN/$s"; done
echo /etc/vigil/vigil.env > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: vigil
Version: $version
Architecture: $arch
Maintainer: Vigil maintainers <vigil@localhost>
Installed-Size: $size
Depends: nodejs (>= 20.19), adduser
Section: net
Priority: optional
Description: access gateway for non-human identities in PCI DSS environments
 Proves who connects (OIDC, mTLS, SSH certificates), applies least-privilege
 policy, masks card numbers inline, holds privileged commands for approval and
 records every session as encrypted, signed evidence verifiable offline.
 Built from commit $(node -p "require('$stage/usr/lib/vigil/BUILD.json').commit").
CONTROL
deb="$outdir/vigil_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >&2
echo "$deb"
