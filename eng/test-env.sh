#!/usr/bin/env bash
# Installs and starts what the integration tests talk to: a Docker engine of its own (vfs storage, no networking)
# and the tools that read our output independently (skopeo, umoci, the CycloneDX .NET tool). Idempotent: a running
# engine is reused. Prints the environment to use; `source <(eng/test-env.sh --print-env)` or let eng/test.sh do it.
# `--tools` installs the .NET tools only (no engine started, nothing pruned).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

ENV_DIR="${SDK_CONTAINERS_TEST_ENV:-/tmp/sdkc-env}"
SOCK="$ENV_DIR/docker.sock"
export DOCKER_HOST="unix://$SOCK"

log() { echo "[test-env] $*" >&2; }

install_packages() {
  local missing=()
  for tool in dockerd:docker.io docker-registry:docker-registry skopeo:skopeo umoci:umoci runc:runc busybox:busybox-static xz:xz-utils bzip2:bzip2 htpasswd:apache2-utils pigz:pigz jq:jq /usr/bin/time:time python3:python3; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
  done
  if ((${#missing[@]})); then
    if [[ $(id -u) != 0 ]]; then
      log "missing packages ${missing[*]} and not root: install them with apt-get first"; exit 1
    fi
    log "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

start_docker() {
  mkdir -p "$ENV_DIR"
  if /usr/bin/docker -H "$DOCKER_HOST" version >/dev/null 2>&1; then
    log "dockerd already running at $SOCK"; return
  fi
  log "starting dockerd at $SOCK"
  # vfs needs no kernel overlay support; no bridge or iptables since containers run with --network none.
  nohup dockerd \
    --data-root "$ENV_DIR/data" --exec-root "$ENV_DIR/exec" --pidfile "$ENV_DIR/docker.pid" \
    --host "$DOCKER_HOST" --storage-driver=vfs \
    --iptables=false --ip6tables=false --bridge=none \
    >"$ENV_DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    /usr/bin/docker -H "$DOCKER_HOST" version >/dev/null 2>&1 && { log "dockerd is up"; return; }
    sleep 1
  done
  log "dockerd did not start; its log:"; tail -30 "$ENV_DIR/dockerd.log" >&2; exit 1
}

# The engine is the tests' own: images earlier runs loaded are removed, or repeated runs on one machine fill the disk
# (vfs stores every layer of every image in full).
prune_docker() {
  local before; before="$(/usr/bin/docker -H "$DOCKER_HOST" images -q | wc -l)"
  if (( before > 0 )); then
    /usr/bin/docker -H "$DOCKER_HOST" system prune -af >/dev/null
    log "removed $before images left by earlier test runs"
  fi
}

# The CycloneDX .NET tool reads a project's packages on its own (from project.assets.json): the SBOM test checks that
# ours lists every runtime package it lists. Installed per checkout, through the configured NuGet source.
CYCLONEDX_VERSION=6.3.1
install_dotnet_tools() {
  local dir="$ROOT/artifacts/tools/cyclonedx"
  if [[ -x "$dir/dotnet-CycloneDX" ]] && grep -qx "$CYCLONEDX_VERSION" "$dir/.version" 2>/dev/null; then return; fi
  log "installing the CycloneDX .NET tool $CYCLONEDX_VERSION into $dir"
  rm -rf "$dir"
  dotnet tool install CycloneDX --version "$CYCLONEDX_VERSION" --tool-path "$dir" >&2
  echo "$CYCLONEDX_VERSION" >"$dir/.version"
}

if [[ "${1:-}" == "--tools" ]]; then install_dotnet_tools; exit 0; fi
install_packages
install_dotnet_tools
start_docker
prune_docker
echo "export DOCKER_HOST=$DOCKER_HOST"
