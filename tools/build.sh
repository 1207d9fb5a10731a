#!/usr/bin/env bash
# Builds one of the Go tools that the tests, the benchmarks and the image use, from the module pinned
# in tools/<dir>/go.mod (a `tool` directive names its command), and prints the binary's path. No
# prebuilt binary is downloaded: the Go module proxy serves the source.
#
#   bash tools/build.sh kustomize        -> /root/.cache/strata/tools/kustomize/<key>/kustomize
#   bash tools/build.sh --all            builds every tool (CI does this once, so the long step shows)
#   bash tools/build.sh --list           prints the tool names
#
# The binary lives outside the repository, in ${STRATA_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/strata/tools}/
# <name>/<key>/<name>, where <key> hashes the tool folder's go.mod, go.sum, ldflags.sh and Go files, this script and
# the Go version: a later run (or CI on the same machine) reuses it, and any change to a pin builds
# afresh. A tool folder may hold ldflags.sh, which prints extra linker flags (helm stamps its version).
set -euo pipefail
tools="$(cd "$(dirname "$0")" && pwd)"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "tools/build.sh: the Go toolchain (go) is not on PATH" >&2; exit 1; }

# Prints "<name> <dir> <package>" for every tool directive of every tools/*/go.mod. A command's name is
# the last element of its package path, or the one before it when that is a major version (v5).
list_tools() {
  for mod in "$tools"/*/go.mod; do
    dir="$(dirname "$mod")"
    sed -n -e 's/^tool[[:space:]]\{1,\}\([^ ()]\{1,\}\)$/\1/p' -e '/^tool (/,/^)/s/^[[:space:]]\{1,\}\([^ ]\{1,\}\)$/\1/p' "$mod" |
      while read -r pkg; do
        name="${pkg##*/}"
        if [[ "$name" =~ ^v[0-9]+$ ]]; then
          name="${pkg%/*}"
          name="${name##*/}"
        fi
        echo "$name $dir $pkg"
      done
  done
}

build_one() {
  local want="$1" name dir pkg
  read -r name dir pkg < <(list_tools | awk -v n="$want" '$1 == n' | head -n 1) || true
  [ -n "${name:-}" ] || { echo "tools/build.sh: no tool named '$want' (known: $(list_tools | cut -d' ' -f1 | tr '\n' ' '))" >&2; exit 2; }

  local key cache out
  key="$( (cd "$dir" && cat go.mod go.sum; [ -f ldflags.sh ] && cat ldflags.sh; find . -name '*.go' | LC_ALL=C sort | xargs -r cat; cat "$tools/build.sh"; go env GOVERSION) | sha256sum | cut -c1-16)"
  cache="${STRATA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/tools}/$name/$key"
  out="$cache/$name"
  mkdir -p "$cache"
  # Tests ask for a tool in parallel: one builds, the others wait for it and reuse the result.
  exec 9>"$cache/.lock"
  flock 9
  if [ ! -x "$out" ]; then
    local ldflags="-s -w"
    [ -f "$dir/ldflags.sh" ] && ldflags="$ldflags $(cd "$dir" && bash ldflags.sh)"
    echo "tools/build.sh: building $name from $pkg (a first build takes minutes) into $out" >&2
    local start=$SECONDS tmp="$out.tmp.$$"
    # Build into a temporary name, then rename: a cut-off build never leaves a half-written binary.
    trap 'rm -f "$tmp"' EXIT
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg")
    mv "$tmp" "$out"
    trap - EXIT
    echo "tools/build.sh: built $name in $((SECONDS - start))s" >&2
  fi
  exec 9>&-
  echo "$out"
}

case "${1:-}" in
  "" | -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --list) list_tools | cut -d' ' -f1 ;;
  --all) for name in $(list_tools | cut -d' ' -f1); do build_one "$name"; done ;;
  *) build_one "$1" ;;
esac
