#!/usr/bin/env bash
# Builds the regionstore image with podman from the local base (docker/base/make-base.sh,
# made first if missing), host network, runc. Prints the image's size.
# Usage: docker/build-image.sh [--tag localhost/regionstore:dev] [podman build args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
podman="$here/podman.sh"
TAG="localhost/regionstore:dev"
BASE="${REGIONSTORE_BASE_IMAGE:-localhost/regionstore-base:bookworm}"
if [ "${1:-}" = --tag ]; then TAG="$2"; shift 2; fi

"$here/base/make-base.sh" --tag "$BASE"
# The host's CA bundle, for npm behind a TLS-inspecting proxy (a mount during RUN steps only,
# never a layer); BUILD_CA_BUNDLE= (empty) leaves it out.
ca_args=()
CA="${BUILD_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}"
if [ -n "$CA" ] && [ -r "$CA" ]; then
  ca_args=(--volume "$CA:/run/build-ca/ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca/ca.crt)
fi
# The host's release build of the rocksdb binding (scripts/build-rocksdb.mjs), staged in the
# context so the image does not compile RocksDB again (the image checks that it loads).
release_dir="$(node "$root/scripts/build-rocksdb.mjs" --print-dir 2>/dev/null || true)"
find "$here/rocksdb-release" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
if [ -n "$release_dir" ] && [ -f "$release_dir/build/Release/leveldown.node" ]; then
  mkdir -p "$here/rocksdb-release/$(basename "$release_dir")"
  cp -r "$release_dir/." "$here/rocksdb-release/$(basename "$release_dir")/"
  echo "build-image: staged the host's rocksdb release build ($(basename "$release_dir"))"
fi
started=$(date +%s)
# docker format: OCI images have no HEALTHCHECK, and podman drops it from them.
"$podman" build --network host --layers --format docker \
  -f "$here/Dockerfile" --ignorefile "$here/Dockerfile.dockerignore" \
  --build-arg BASE_IMAGE="$BASE" "${ca_args[@]}" -t "$TAG" "$@" "$root"
echo "build-image: $TAG built in $(( $(date +%s) - started )) s; size $("$podman" image inspect --format '{{.Size}}' "$TAG") bytes"
