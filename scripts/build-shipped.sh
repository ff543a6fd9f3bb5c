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
swift build -c release --product vitals --scratch-path "$SCRATCH" --static-swift-stdlib \
  -Xlinker -L"$STATIC_CXX" \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections \
  -Xswiftc -use-ld=lld -Xlinker --gc-sections -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
  -Xlinker --symbol-ordering-file="$ROOT/deploy/link-order.txt" -Xlinker --no-warn-symbol-ordering \
  -Xlinker -T -Xlinker "$ROOT/deploy/link-order.ld"
mkdir -p "$(dirname "$OUT")"
strip -o "$OUT" "$SCRATCH/release/vitals"
