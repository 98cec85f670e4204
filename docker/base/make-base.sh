#!/usr/bin/env bash
# Makes the local base images the Dockerfile and the Prometheus image build on, because no
# image registry is reachable from the build machines:
#
#   localhost/regionstore-base:bookworm   Debian bookworm (mmdebstrap, minbase) + Node.js 20
#
# Node: Debian bookworm's own `nodejs` is 18, and regionstore needs Node >= 20 (package.json
# engines); the NodeSource apt repository is not reachable from the build machines. So the
# host's Node (>= 20, as the project's tests run on) is copied in: /usr/bin/node plus npm
# and corepack from /usr/lib/node_modules, which is how the NodeSource `nodejs` package lays
# them out (NODE_PREFIX=/usr/local for an install from nodejs.org's tarball). It needs
# only libc and libstdc++ from Debian. Without a Node >= 20 on the host, the base takes
# Debian's nodejs + npm and says loudly that regionstore may not run on it.
#
# The Dockerfile's build stage adds python3, make and g++ (what node-gyp needs if a native
# module has no prebuilt binary) with apt-get, so the runtime base stays small.
#
# Cached: an existing image is kept unless --force is given.
# Usage: docker/base/make-base.sh [--force] [--tag localhost/regionstore-base:bookworm]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
podman="$here/../podman.sh"

TAG="localhost/regionstore-base:bookworm"
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) TAG="$2"; shift ;;
    *) echo "make-base: unknown argument $1 (usage: make-base.sh [--force] [--tag IMAGE])" >&2; exit 2 ;;
  esac
  shift
done

if [ "$FORCE" = 0 ] && "$podman" image exists "$TAG"; then
  echo "make-base: $TAG exists (cached; --force rebuilds it)"
  exit 0
fi
for tool in mmdebstrap podman; do
  command -v "$tool" >/dev/null || { echo "make-base: $tool is not installed: apt-get install $tool" >&2; exit 3; }
done

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
sources=(
  "deb $MIRROR bookworm main"
  "deb $MIRROR bookworm-updates main"
  "deb $SECURITY bookworm-security main"
)
# libstdc++6: the host's node and the rocksdb binding link it.
packages="ca-certificates,libstdc++6"
NODE_MAJOR_MIN=20
NODE_PREFIX="${NODE_PREFIX:-/usr}"
hooks=()
host_node_major="$("$NODE_PREFIX/bin/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$host_node_major" -ge "$NODE_MAJOR_MIN" ] && [ -d "$NODE_PREFIX/lib/node_modules/npm" ]; then
  echo "make-base: Node $("$NODE_PREFIX/bin/node" --version) from $NODE_PREFIX on this machine goes into the base"
  # Copied into the same places under /usr; npm and npx are symlinks, as the package has them.
  hooks+=(--customize-hook="cp -a $NODE_PREFIX/bin/node \"\$1/usr/bin/node\" && mkdir -p \"\$1/usr/lib/node_modules\" && cp -a $NODE_PREFIX/lib/node_modules/npm \"\$1/usr/lib/node_modules/\" && ln -sf ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/bin/npm\" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/bin/npx\"")
else
  echo "make-base: WARNING: no Node >= $NODE_MAJOR_MIN with npm under $NODE_PREFIX: using Debian's nodejs 18 + npm, which regionstore (Node >= 20) may not run on" >&2
  packages="$packages,nodejs,npm"
fi

tar="$(mktemp --suffix=.tar)"
trap 'rm -f "$tar"' EXIT
started=$(date +%s)
# minbase: dpkg, apt and essentials only. Docs, man pages and apt lists are left out so the
# base stays small; a build that needs apt runs apt-get update first.
mmdebstrap --variant=minbase --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  "${hooks[@]}" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$tar" "${sources[@]}"
"$podman" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  "$tar" "$TAG" >/dev/null
echo "make-base: $TAG ready in $(( $(date +%s) - started )) s ($("$podman" run --rm --network host "$TAG" node --version))"
