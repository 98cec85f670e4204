#!/usr/bin/env bash
# podman with the settings of docker/podman/containers.conf (host network, cgroupfs, runc,
# file events): every script and test of docker/ runs podman through this.
# Usage: docker/podman.sh <podman args...>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/podman/containers.conf}"
exec podman "$@"
