#!/usr/bin/env bash
# Regenerates go.mod's staging pins from the k8s.io/kubernetes module's own go.mod.
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and
# points them into its own tree with replace directives, which Go ignores in a dependency. This
# script reads those `=> ./staging/src/...` lines from the go.mod the module proxy serves for the
# pinned kubernetes version and pins each staging module to the matching v0.MINOR.PATCH release.
# Usage: bash test/cluster/gen-gomod.sh [v1.36.3]
set -euo pipefail
cd "$(dirname "$0")"

k8s_version="${1:-$(go list -m -f '{{.Version}}' k8s.io/kubernetes 2>/dev/null || echo v1.36.3)}"
staging_version="v0.${k8s_version#v1.}"

upstream_mod="$(go mod download -json "k8s.io/kubernetes@${k8s_version}" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
[ -f "$upstream_mod" ] || { echo "gen-gomod: no go.mod downloaded for k8s.io/kubernetes@${k8s_version}" >&2; exit 1; }

# Drop the replaces this script wrote before, then write the current set.
for old in $(go mod edit -json | sed -n 's/^\s*"Path": "\(k8s\.io\/[^"]*\)",\?$/\1/p' | sort -u); do
  go mod edit -dropreplace="$old" 2>/dev/null || true
done

staging_modules="$(sed -n 's#^\s*\(k8s\.io/[a-z0-9.-]*\) => \./staging/src/.*#\1#p' "$upstream_mod")"
[ -n "$staging_modules" ] || { echo "gen-gomod: no staging replaces found in $upstream_mod" >&2; exit 1; }

go mod edit -require="k8s.io/kubernetes@${k8s_version}"
for module in $staging_modules; do
  go mod edit -replace="${module}=${module}@${staging_version}"
done
echo "gen-gomod: pinned $(echo "$staging_modules" | wc -l) staging modules to ${staging_version} for k8s.io/kubernetes ${k8s_version}"
