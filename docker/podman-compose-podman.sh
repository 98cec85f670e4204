#!/usr/bin/env bash
# The podman that podman-compose calls (`podman-compose --podman-path docker/podman-compose-podman.sh`),
# working around Debian bookworm's podman-compose 1.0.3, which breaks `network_mode: host`
# (podman-compose issues #397 and #961, fixed upstream after 1.0.3):
#   - it creates a bridge network <project>_default for every project, and
#   - adds `--net <project>_default --network-alias <service>` to each container, which
#     podman refuses next to `--network host` ("cannot set multiple networks without
#     bridge network mode").
# So: `network exists|create <project>_default` succeed without making anything (no bridge
# network, ever), and for a container with `--network host` those two flags are dropped.
# Everything else goes to docker/podman.sh unchanged. Newer podman-compose needs none of
# this, and the wrapper is then harmless.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ "${1:-}" = network ] && { [ "${2:-}" = exists ] || [ "${2:-}" = create ]; }; then
  last="${*: -1}"
  case "$last" in
    *_default) exit 0 ;;
  esac
fi

if [ "${1:-}" = run ] || [ "${1:-}" = create ]; then
  host=0
  prev=""
  for a in "$@"; do
    if { [ "$prev" = --network ] && [ "$a" = host ]; } || [ "$a" = --network=host ]; then host=1; fi
    prev="$a"
  done
  if [ "$host" = 1 ]; then
    out=()
    skip=0
    for a in "$@"; do
      if [ "$skip" = 1 ]; then skip=0; continue; fi
      case "$a" in
        --net | --network-alias) skip=1; continue ;;
        --net=* | --network-alias=*) continue ;;
      esac
      out+=("$a")
    done
    set -- "${out[@]}"
  fi
fi
exec "$here/podman.sh" "$@"
