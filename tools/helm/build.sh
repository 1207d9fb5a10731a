#!/usr/bin/env bash
# Builds the helm CLI from the Go module helm.sh/helm/v3 pinned in tools/helm/go.mod and prints the
# binary's path. No prebuilt binary is downloaded: the module proxy serves the source.
#
# The binary lives outside the repository, in ${XDG_CACHE_HOME:-$HOME/.cache}/strata/helm/<key>/helm,
# where <key> hashes go.mod, go.sum and the Go version: a later run (or CI on the same machine) reuses
# it, and any change to the pin builds afresh. STRATA_HELM_CACHE overrides the cache folder.
# Usage: bash tools/helm/build.sh            -> prints /path/to/helm
#        HELM=$(bash tools/helm/build.sh) && "$HELM" version
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

command -v go >/dev/null || { echo "tools/helm/build.sh: the Go toolchain (go) is not on PATH" >&2; exit 1; }

key="$( (cat go.mod go.sum; go env GOVERSION) | sha256sum | cut -c1-16)"
cache="${STRATA_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/helm}"
out="$cache/$key/helm"

if [ ! -x "$out" ]; then
  mkdir -p "$cache/$key"
  helm_version="$(go list -m -f '{{.Version}}' helm.sh/helm/v3)"
  echo "tools/helm/build.sh: building helm ${helm_version} (first run takes minutes) into $out" >&2
  start=$SECONDS
  # Build into a temporary name, then rename: a cut-off build never leaves a half-written binary.
  tmp="$out.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version}" \
    -o "$tmp" helm.sh/helm/v3/cmd/helm
  mv "$tmp" "$out"
  echo "tools/helm/build.sh: built in $((SECONDS - start))s" >&2
fi
echo "$out"
