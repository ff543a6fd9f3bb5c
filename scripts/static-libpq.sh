#!/usr/bin/env bash
# Debian's libpq as static archives, for the shipped build (scripts/build-shipped.sh) and the test
# that links the same way (Tests/VitalsTests/Deployment/StaticLibpqTests.swift):
#
#   bash scripts/static-libpq.sh DIR
#
# DIR gets libpq.a (a link to libpq-dev's archive) and the two archives of PostgreSQL's common code
# that libpq.a leaves undefined, libpgcommon_shlib.a and libpgport_shlib.a. Those come from
# postgresql-server-dev-N at exactly libpq-dev's version; only the package's two archives are
# unpacked (apt-get download, dpkg-deb -x), so its compiler and LLVM dependencies are not installed.
# DIR also gets the common code's encoding functions as objects (encnames_shlib.o, wchar_shlib.o):
# libpq.so exports some of them too, so a link that also sees libpq.so must take them as objects,
# or it binds them to libpq.so.
# Does nothing when DIR already holds them for the installed libpq-dev.
set -euo pipefail
DIR=${1:?usage: bash scripts/static-libpq.sh DIR}
version=$(dpkg-query -W -f='${Version}' libpq-dev 2>/dev/null || true)
archive=$(dpkg-query -L libpq-dev 2>/dev/null | grep '/libpq\.a$' | head -1 || true)
[[ -n $version && -f $archive ]] || { echo "static-libpq: no libpq.a (install libpq-dev)" >&2; exit 1; }
mkdir -p "$DIR"
ln -sf "$archive" "$DIR/libpq.a"
[[ $(cat "$DIR/version" 2>/dev/null) == "$version" && -f $DIR/wchar_shlib.o ]] && exit 0
package=postgresql-server-dev-${version%%.*}
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
(cd "$download" && apt-get download "$package=$version" >/dev/null 2>&1) || {
  apt-get update -qq >/dev/null 2>&1 || true
  (cd "$download" && apt-get download "$package=$version" >/dev/null 2>&1)
} || { echo "static-libpq: could not download $package=$version" >&2; exit 1; }
dpkg-deb -x "$download"/*.deb "$download/root"
cp "$download"/root/usr/lib/postgresql/*/lib/{libpgcommon_shlib.a,libpgport_shlib.a} "$DIR/"
(cd "$DIR" && ar x libpgcommon_shlib.a encnames_shlib.o wchar_shlib.o)
echo "$version" >"$DIR/version"
