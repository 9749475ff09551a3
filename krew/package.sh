#!/usr/bin/env bash
# Builds the release archive for one target: the binary plus LICENSE, as krew requires.
# Usage: krew/package.sh TARGET [DIST_DIR]   (e.g. x86_64-unknown-linux-musl dist)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: krew/package.sh TARGET [DIST_DIR]}
dist=${2:-dist}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
cargo build --release --locked --target "$target"
stage=$(mktemp -d)
exe=kubectl-graceful
case "$target" in *windows*) exe=kubectl-graceful.exe ;; esac
cp "target/$target/release/$exe" LICENSE README.md "$stage/"
mkdir -p "$dist"
name="kubectl-graceful-v$version-$target"
case "$target" in
  *windows*) (cd "$stage" && zip -q "$OLDPWD/$dist/$name.zip" ./*) ;;
  *) tar -C "$stage" -czf "$dist/$name.tar.gz" . ;;
esac
rm -rf "$stage"
echo "$dist/$name"
