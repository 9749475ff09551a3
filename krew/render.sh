#!/usr/bin/env bash
# Prints the krew manifest for a release: fills krew/graceful.yaml with the version, the archive URLs and
# the sha256 of every archive in DIST_DIR (lowercase hex, as krew requires).
# Usage: krew/render.sh VERSION DIST_DIR BASE_URL
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: krew/render.sh VERSION DIST_DIR BASE_URL}
dist=${2:?DIST_DIR}
base=${3:?BASE_URL}
manifest=$(sed -e "s|{{VERSION}}|$version|g" -e "s|{{BASE_URL}}|$base|g" krew/graceful.yaml | grep -v '^#')
for f in "$dist"/kubectl-graceful-v"$version"-*; do
  t=$(basename "$f"); t=${t#kubectl-graceful-v"$version"-}; t=${t%.tar.gz}; t=${t%.zip}
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  manifest=${manifest//"{{SHA256_$t}}"/$sum}
done
if grep -q '{{SHA256_' <<<"$manifest"; then
  echo "error: missing archives for: $(grep -o '{{SHA256_[^}]*}}' <<<"$manifest" | tr '\n' ' ')" >&2
  exit 1
fi
printf '%s\n' "$manifest"
