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
# - Symbols stripped into OUT; the unstripped binary stays in SCRATCH/release for profiles and
#   for symbolising a crash's addresses.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${1:-.build-static}
OUT=${2:-$SCRATCH/vitals}
# SwiftPM does not track the link order files: relink every time.
rm -f "$SCRATCH/release/vitals"
swift build -c release --product vitals --scratch-path "$SCRATCH" --static-swift-stdlib \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections \
  -Xswiftc -use-ld=lld -Xlinker --gc-sections -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
  -Xlinker --symbol-ordering-file="$ROOT/deploy/link-order.txt" -Xlinker --no-warn-symbol-ordering \
  -Xlinker -T -Xlinker "$ROOT/deploy/link-order.ld"
mkdir -p "$(dirname "$OUT")"
strip -o "$OUT" "$SCRATCH/release/vitals"
