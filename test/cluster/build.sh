#!/usr/bin/env bash
# Builds test/cluster/bin/cluster, the multi-call control-plane binary the lab runs
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok).
#
# Skips the build when bin/cluster exists and its inputs (go.mod, go.sum, *.go, this script) hash
# to the recorded stamp; otherwise relies on the Go build cache, so a rebuild after a small change
# recompiles only what changed. A cold build compiles most of Kubernetes: see README.md for
# measured time and memory. Set GO_BUILD_PARALLEL to change `go build -p` (default 2).
set -euo pipefail
cd "$(dirname "$0")"

binary=bin/cluster
stamp=bin/.inputs.sha256
# Several test runs may ask for the binary at once: one builds, the others wait and then find it fresh.
mkdir -p bin
exec 9>bin/.build.lock
flock 9
inputs_hash="$(cat go.mod go.sum ./*.go build.sh | sha256sum | cut -d' ' -f1)"

if [ -x "$binary" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs_hash" ]; then
  echo "build.sh: $binary is up to date"
  exit 0
fi

command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build.sh: Go toolchain not found (need go >= 1.26)" >&2; exit 1; }

k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
minor="$(echo "$k8s_version" | cut -d. -f2)"
version_pkg=k8s.io/component-base/version
ldflags="-s -w -X ${version_pkg}.gitVersion=${k8s_version} -X ${version_pkg}.gitMajor=1 -X ${version_pkg}.gitMinor=${minor} -X ${version_pkg}.gitTreeState=clean"

echo "build.sh: building $binary (kubernetes ${k8s_version}); a cold build takes many minutes"
started=$(date +%s)
CGO_ENABLED=0 go build -p "${GO_BUILD_PARALLEL:-2}" -buildvcs=false -trimpath -ldflags "$ldflags" -o "$binary.tmp" .
mv "$binary.tmp" "$binary"
echo "$inputs_hash" > "$stamp"
echo "build.sh: built $binary in $(( $(date +%s) - started ))s"
