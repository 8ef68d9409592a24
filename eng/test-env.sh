#!/usr/bin/env bash
# Installs and starts what the integration tests talk to: a Docker engine of its own (vfs storage, no networking),
# a containerd of its own, Podman configured for the tests alone, and the tools that read our output independently
# (skopeo, umoci, the CycloneDX .NET tool). Idempotent: running engines are reused. Nothing global is configured: each engine keeps its root,
# state, sockets and configuration under $ENV_DIR.
# Prints the environment to use; `source <(eng/test-env.sh --print-env)` or let eng/test.sh do it.
# `--tools` installs the .NET tools only (no engine started, nothing pruned).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

ENV_DIR="${SDK_CONTAINERS_TEST_ENV:-/tmp/sdkc-env}"
SOCK="$ENV_DIR/docker.sock"
export DOCKER_HOST="unix://$SOCK"
CONTAINERD_DIR="$ENV_DIR/containerd"
CONTAINERD_SOCK="$CONTAINERD_DIR/containerd.sock"
PODMAN_DIR="$ENV_DIR/podman"
export CONTAINERS_CONF="$PODMAN_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$PODMAN_DIR/registries.conf"

log() { echo "[test-env] $*" >&2; }

install_packages() {
  local missing=()
  for tool in dockerd:docker.io containerd:containerd ctr:containerd podman:podman docker-registry:docker-registry skopeo:skopeo umoci:umoci runc:runc busybox:busybox-static xz:xz-utils bzip2:bzip2 htpasswd:apache2-utils pigz:pigz jq:jq /usr/bin/time:time python3:python3 gcc:gcc; do
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

# Not dockerd's embedded containerd (that one is dockerd's alone): a second one with its own root, state, sockets and
# config file, for the tests that import our tarballs with ctr as containerd-based tools do. The native snapshotter
# only (this machine has no overlay, as dockerd's vfs says) and no CRI plugin (it wants networking).
start_containerd() {
  mkdir -p "$CONTAINERD_DIR"
  if ctr -a "$CONTAINERD_SOCK" version >/dev/null 2>&1; then
    log "containerd already running at $CONTAINERD_SOCK"; return
  fi
  local disabled='"io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.overlayfs", "io.containerd.snapshotter.v1.aufs",'
  disabled+=' "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"'
  cat >"$CONTAINERD_DIR/config.toml" <<EOF
version = 2
root = "$CONTAINERD_DIR/root"
state = "$CONTAINERD_DIR/state"
disabled_plugins = [$disabled]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = "$CONTAINERD_DIR/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_DIR/opt"
EOF
  log "starting containerd at $CONTAINERD_SOCK"
  # Its own session, so it outlives this script as dockerd does.
  setsid nohup containerd --config "$CONTAINERD_DIR/config.toml" >"$CONTAINERD_DIR/containerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    ctr -a "$CONTAINERD_SOCK" version >/dev/null 2>&1 && { log "containerd is up"; return; }
    sleep 1
  done
  log "containerd did not start; its log:"; tail -30 "$CONTAINERD_DIR/containerd.log" >&2; exit 1
}

# Each test imports into a namespace of its own and removes it; what a killed run left is removed here.
prune_containerd() {
  local ctr=(ctr -a "$CONTAINERD_SOCK") ns container removed=0 images
  for ns in $("${ctr[@]}" namespaces ls -q); do
    for container in $("${ctr[@]}" -n "$ns" containers ls -q); do
      "${ctr[@]}" -n "$ns" tasks rm -f "$container" >/dev/null 2>&1 || true
      "${ctr[@]}" -n "$ns" containers rm "$container" >/dev/null 2>&1 || true
    done
    mapfile -t images < <("${ctr[@]}" -n "$ns" images ls -q)
    if ((${#images[@]})); then
      "${ctr[@]}" -n "$ns" images rm --sync "${images[@]}" >/dev/null
      removed=$((removed + ${#images[@]}))
    fi
    "${ctr[@]}" namespaces rm "$ns" >/dev/null 2>&1 || true
  done
  if ((removed > 0)); then log "removed $removed containerd images left by earlier test runs"; fi
}

# Podman reads only the files CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF name, so the
# tests' Podman is configured here and /etc/containers is left alone. vfs and cgroupfs: this machine has neither
# overlay nor systemd. No network, with CNI as the backend (netavark keeps state in /run even when unused). Explicit
# ulimits: Podman's defaults ask for more than this machine lets a process raise.
configure_podman() {
  mkdir -p "$PODMAN_DIR"
  cat >"$CONTAINERS_CONF.tmp" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PODMAN_DIR/tmp/events.log"
runtime = "runc"
tmp_dir = "$PODMAN_DIR/tmp"
static_dir = "$PODMAN_DIR/root/libpod"
volume_path = "$PODMAN_DIR/root/volumes"

[network]
network_backend = "cni"
network_config_dir = "$PODMAN_DIR/networks"
EOF
  cat >"$CONTAINERS_STORAGE_CONF.tmp" <<EOF
[storage]
driver = "vfs"
graphroot = "$PODMAN_DIR/root"
runroot = "$PODMAN_DIR/runroot"
EOF
  echo 'unqualified-search-registries = []' >"$CONTAINERS_REGISTRIES_CONF.tmp"
  local file
  for file in "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" "$CONTAINERS_REGISTRIES_CONF"; do mv -f "$file.tmp" "$file"; done
  if ! podman version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    log "podman does not answer with the configuration in $PODMAN_DIR:"; podman version >&2 || true; exit 1
  fi
  local before; before="$(podman images -q | wc -l)"
  if ((before > 0)); then
    podman rmi -af >/dev/null
    log "removed $before Podman images left by earlier test runs"
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
start_containerd
prune_containerd
configure_podman
echo "export DOCKER_HOST=$DOCKER_HOST"
echo "export SDK_CONTAINERS_TEST_CONTAINERD=$CONTAINERD_SOCK"
echo "export CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF=$CONTAINERS_REGISTRIES_CONF"
