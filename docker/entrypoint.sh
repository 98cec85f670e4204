#!/bin/sh
# The image's entrypoint: `regionstore`, with `serve` implied, so that both
#   podman run IMAGE --name n1 ...        (a region member; no arguments: all from env)
#   podman run IMAGE edge --name e1 ...   (any subcommand of regionstore)
# work. `rsctl ...` runs the client; any other command (sh, node) runs as given.
set -e
case "${1:-}" in
  '' | -*)
    # --help/--version mean regionstore's own; any other flag is a member's.
    case "${1:-}" in
      -h | --help | --version) exec regionstore "$@" ;;
    esac
    exec regionstore serve "$@"
    ;;
  serve | edge | member | snapshot | help | version) exec regionstore "$@" ;;
  regionstore | rsctl) exec "$@" ;;
  *) exec "$@" ;;
esac
