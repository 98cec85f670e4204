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
started=$(date +%s)
"$podman" build --network host --layers \
  -f "$here/Dockerfile" --ignorefile "$here/Dockerfile.dockerignore" \
  --build-arg BASE_IMAGE="$BASE" -t "$TAG" "$@" "$root"
echo "build-image: $TAG built in $(( $(date +%s) - started )) s; size $("$podman" image inspect --format '{{.Size}}' "$TAG") bytes"
