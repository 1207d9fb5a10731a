#!/usr/bin/env bash
# Linker flags for helm, like helm's own Makefile: its version, and the Kubernetes version that
# `helm template` and `helm lint` assume, taken from the client-go it is built with (v0.35.x -> 1.35);
# without them helm prints no version and assumes Kubernetes 1.20.
set -euo pipefail
helm_version="$(go list -m -f '{{.Version}}' helm.sh/helm/v3)"
client_go="$(go list -m -f '{{.Version}}' k8s.io/client-go)"
minor="$(echo "$client_go" | cut -d. -f2)"
major="$(( $(echo "${client_go#v}" | cut -d. -f1) + 1 ))"
echo "-X helm.sh/helm/v3/internal/version.version=${helm_version}" \
  "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${major} -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${minor}" \
  "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${major} -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${minor}"
