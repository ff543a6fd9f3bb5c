#!/usr/bin/env bash
# The build the container image ships (deploy/Dockerfile) and bench/cost-to-run.sh measures:
#
#   bash scripts/build-shipped.sh [SCRATCH] [OUT]   # default .build-static and SCRATCH/vitals
#
# - The Swift runtime and FoundationEssentials linked in statically (no Swift libraries to ship).
# - Each function in a section of its own, unused ones dropped (--gc-sections), and the ones the
#   daemon runs laid out together in the order of deploy/link-order.txt (bench/link-order.sh
#   writes it), with the compiler's unnamed helpers ahead of them (deploy/link-order.ld). The
#   daemon then keeps about 6 MiB of its 17 MiB of code resident instead of 13.
# - Linked by lld with packed relative relocations (DT_RELR, glibc 2.36+: 1.7 MiB of relocation
#   table read at start becomes 15 KiB) and no dynamic symbol table beyond what libraries need
#   (the static runtime's default exports every symbol: 2 MiB of names mapped for nothing).
# - libstdc++ linked statically too (below), so only what the runtime calls is mapped.
# - libpq linked statically too, with its GSSAPI and LDAP libraries opened on first use
#   (deploy/libpq-optional.c, below): they are 3 MiB resident that a daemon rarely uses. Its
#   password hashes and nonces are OpenSSL's low-level digests and the kernel's random bytes
#   (deploy/libpq-crypto.c), not OpenSSL's EVP layer, whose set-up is 2 MiB resident.
# - Symbols stripped into OUT; the unstripped binary stays in SCRATCH/release for profiles and
#   for symbolising a crash's addresses.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${1:-.build-static}
OUT=${2:-$SCRATCH/vitals}
# SwiftPM does not track the link order files: relink every time.
rm -f "$SCRATCH/release/vitals"
# libstdc++ linked in too: the static Swift runtime asks for it with `-lstdc++`, and a directory
# holding only the archive, searched first, makes that the static one. Loading the shared library
# kept 1 MiB of it resident (symbol tables and relocations) for the little the runtime calls.
LIBSTDCXX_ARCHIVE=$(clang -print-file-name=libstdc++.a)
[[ -f $LIBSTDCXX_ARCHIVE ]] || { echo "build-shipped: no libstdc++.a (install libstdc++-12-dev)" >&2; exit 1; }
mkdir -p "$SCRATCH/static-libstdc++"
STATIC_CXX=$(cd "$SCRATCH/static-libstdc++" && pwd)
ln -sf "$LIBSTDCXX_ARCHIVE" "$STATIC_CXX/libstdc++.a"
# libpq from Debian's static archives (scripts/static-libpq.sh), with the functions it calls from
# libgssapi_krb5 and libldap defined by deploy/libpq-optional.c, which opens those libraries on
# first use. libpq.so would load them, and what they link (GnuTLS, SASL, Kerberos: 3 MiB resident),
# at start. libpq.a is linked whole and the encoding functions as objects, so that no libpq symbol
# is left to libpq.so, which the system-library target's `-lpq` still finds (checked after the link).
[[ -f /usr/include/gssapi/gssapi.h && -f /usr/include/ldap.h ]] ||
  { echo "build-shipped: no GSSAPI or LDAP headers for deploy/libpq-optional.c (install libkrb5-dev libldap-dev)" >&2; exit 1; }
bash scripts/static-libpq.sh "$SCRATCH/static-libpq"
STATIC_PQ=$(cd "$SCRATCH/static-libpq" && pwd)
clang -O2 -fPIC -ffunction-sections -Wall -Werror -c "$ROOT/deploy/libpq-optional.c" -o "$STATIC_PQ/libpq-optional.o"
# Defined here, the common code's hashes, HMACs and random bytes are not taken from its archives
# (whose versions go through OpenSSL's EVP layer): see deploy/libpq-crypto.c; checked after the link.
clang -O2 -fPIC -ffunction-sections -Wall -Werror -c "$ROOT/deploy/libpq-crypto.c" -o "$STATIC_PQ/libpq-crypto.o"
swift build -c release --product vitals --scratch-path "$SCRATCH" --static-swift-stdlib \
  -Xlinker -L"$STATIC_CXX" \
  -Xlinker --whole-archive -Xlinker "$STATIC_PQ/libpq.a" -Xlinker --no-whole-archive \
  -Xlinker "$STATIC_PQ/encnames_shlib.o" -Xlinker "$STATIC_PQ/wchar_shlib.o" -Xlinker "$STATIC_PQ/libpq-optional.o" \
  -Xlinker "$STATIC_PQ/libpq-crypto.o" \
  -Xlinker "$STATIC_PQ/libpgcommon_shlib.a" -Xlinker "$STATIC_PQ/libpgport_shlib.a" \
  -Xlinker -lssl -Xlinker -lcrypto \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections \
  -Xswiftc -use-ld=lld -Xlinker --gc-sections -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
  -Xlinker --symbol-ordering-file="$ROOT/deploy/link-order.txt" -Xlinker --no-warn-symbol-ordering \
  -Xlinker -T -Xlinker "$ROOT/deploy/link-order.ld"
# lld still records libpq.so.5, which the system-library target's `-lpq` found first (its -L
# directories come before the flags above); every symbol of libpq now comes from the archive, so
# the entry is removed, and the daemon is started with every symbol bound to prove nothing is missing.
left_to_libpq_so=$(nm -D --undefined-only "$SCRATCH/release/vitals" | grep -E ' (PQ|lo_|pg_)' || true)
[[ -z $left_to_libpq_so ]] || { echo "build-shipped: libpq symbols left to libpq.so:" >&2; echo "$left_to_libpq_so" >&2; exit 1; }
evp_hashing=$(nm -D --undefined-only "$SCRATCH/release/vitals" | grep -E ' (EVP_DigestInit_ex|HMAC_Init_ex|RAND_bytes)(@|$)' || true)
[[ -z $evp_hashing ]] || { echo "build-shipped: libpq's hashing linked from the archives, not deploy/libpq-crypto.c:" >&2; echo "$evp_hashing" >&2; exit 1; }
command -v patchelf >/dev/null || { echo "build-shipped: no patchelf (install patchelf)" >&2; exit 1; }
patchelf --remove-needed libpq.so.5 "$SCRATCH/release/vitals"
mkdir -p "$(dirname "$OUT")"
strip -o "$OUT" "$SCRATCH/release/vitals"
LD_BIND_NOW=1 "$OUT" --version >/dev/null
