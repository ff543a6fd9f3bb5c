#!/usr/bin/env bash
# Regenerates Tests/VitalsTests/Exposition/Protobuf/metrics.pb.swift from proto/ (the tests decode vitals'
# output with it and compare its bytes with the encoder's; the daemon encodes by hand).
# The generated file is committed, so a normal build never needs protoc or the plugin
# (building swift-protobuf's plugin takes minutes; CI builds from scratch every run).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
work=${PROTOC_GEN_SWIFT_DIR:-.build-protoc-gen-swift}
if [ ! -x "$work/swift-protobuf/.build/release/protoc-gen-swift" ]; then
  version=$(sed -n 's/.*swift-protobuf.git", from: "\([0-9.]*\)".*/\1/p' Package.swift)
  rm -rf "$work" && mkdir -p "$work"
  git clone -q --branch "$version" https://github.com/apple/swift-protobuf.git "$work/swift-protobuf"
  swift build -c release --package-path "$work/swift-protobuf" --product protoc-gen-swift
fi
protoc --plugin=protoc-gen-swift="$work/swift-protobuf/.build/release/protoc-gen-swift" \
  --swift_opt=Visibility=Internal --swift_out=Tests/VitalsTests/Exposition/Protobuf \
  -I proto proto/io/prometheus/client/metrics.proto
mv Tests/VitalsTests/Exposition/Protobuf/io/prometheus/client/metrics.pb.swift Tests/VitalsTests/Exposition/Protobuf/metrics.pb.swift
rm -rf Tests/VitalsTests/Exposition/Protobuf/io
echo "wrote Tests/VitalsTests/Exposition/Protobuf/metrics.pb.swift"
