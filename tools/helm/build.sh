#!/usr/bin/env bash
# Builds the helm CLI from the Go module helm.sh/helm/v3 pinned in tools/helm/go.mod and prints the
# binary's path. No prebuilt binary is downloaded: the module proxy serves the source.
#
# The binary lives outside the repository, in ${XDG_CACHE_HOME:-$HOME/.cache}/strata/helm/<key>/helm,
# where <key> hashes go.mod, go.sum, this script and the Go version: a later run (or CI on the same machine) reuses
# it, and any change to the pin builds afresh. STRATA_HELM_CACHE overrides the cache folder.
# Usage: bash tools/helm/build.sh            -> prints /path/to/helm
#        HELM=$(bash tools/helm/build.sh) && "$HELM" version
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

command -v go >/dev/null || { echo "tools/helm/build.sh: the Go toolchain (go) is not on PATH" >&2; exit 1; }

key="$( (cat go.mod go.sum build.sh; go env GOVERSION) | sha256sum | cut -c1-16)"
cache="${STRATA_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/helm}"
out="$cache/$key/helm"

mkdir -p "$cache/$key"
# Test files call this in parallel: one builds, the others wait for it and reuse the result.
exec 9>"$cache/$key/.lock"
flock 9
if [ ! -x "$out" ]; then
  helm_version="$(go list -m -f '{{.Version}}' helm.sh/helm/v3)"
  # Like helm's Makefile: the Kubernetes version `helm template` and `helm lint` assume is the one of
  # the client-go it is built with (v0.35.x -> 1.35); without it helm assumes 1.20.
  client_go="$(go list -m -f '{{.Version}}' k8s.io/client-go)"
  k8s_minor="$(echo "$client_go" | cut -d. -f2)"
  k8s_major="$(( $(echo "${client_go#v}" | cut -d. -f1) + 1 ))"
  echo "tools/helm/build.sh: building helm ${helm_version} (first run takes minutes) into $out" >&2
  start=$SECONDS
  # Build into a temporary name, then rename: a cut-off build never leaves a half-written binary.
  tmp="$out.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version} \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${k8s_major} -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${k8s_minor} \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${k8s_major} -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${k8s_minor}" \
    -o "$tmp" helm.sh/helm/v3/cmd/helm
  mv "$tmp" "$out"
  echo "tools/helm/build.sh: built in $((SECONDS - start))s" >&2
fi
echo "$out"
