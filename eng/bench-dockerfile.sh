#!/usr/bin/env bash
# Dockerfile builds, ours against BuildKit, side by side on the same contexts and base images, alternating the two in
# one run; prints medians and ours/BuildKit ratios. BuildKit runs in a Docker engine this script starts for itself
# with the overlay2 storage driver (vfs would slow BuildKit down, an unfair comparison); both tools end with the image
# in that engine (ours with --load).
#   dotnetapp, aspnetapp   the dotnet/dotnet-docker sample Dockerfiles (tests/Integration.Tests/Samples), FROM our
#                          test sdk/runtime/aspnet images in a local registry
#   copy-only              a 106 MB folder (the installed .NET shared frameworks) COPYed onto runtime-deps, with ENV,
#                          LABEL and EXPOSE
# Cases: cold (empty caches: ours an empty cache directory, BuildKit after `docker builder prune -af`), no change,
# and a one-line change (a line appended to Program.cs, or to one file of the folder).
# Usage: bash eng/bench-dockerfile.sh   (RUNS=3; CASES="dotnetapp aspnetapp copy-only"); bench.sh calls it too.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
CASES="${CASES:-dotnetapp aspnetapp copy-only}"

[[ -n "${SDKC_SETUP_DONE:-}" ]] || eval "$(bash eng/setup.sh)"

# Work on the disk, not in /tmp: BuildKit's overlay2 and our overlayfs both want a file system that takes overlays.
WORK="$(mktemp -d /var/tmp/sdkc-bench-df.XXXXXX)"
REGISTRY_PID=""; DOCKERD_PID=""
cleanup() {
  [[ -n "$REGISTRY_PID" ]] && kill "$REGISTRY_PID" 2>/dev/null || true
  if [[ -n "$DOCKERD_PID" ]]; then kill "$DOCKERD_PID" 2>/dev/null || true; wait "$DOCKERD_PID" 2>/dev/null || true; fi
  umount -R "$WORK/docker" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "[bench-dockerfile] $*" >&2; }

# ---- an overlay2 Docker engine of our own ------------------------------------------------------------------------
export DOCKER_HOST="unix://$WORK/docker.sock"
dockerd --data-root "$WORK/docker" --exec-root "$WORK/exec" --pidfile "$WORK/docker.pid" --host "$DOCKER_HOST" \
  --storage-driver=overlay2 --iptables=false --ip6tables=false --bridge=none >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 60); do /usr/bin/docker version >/dev/null 2>&1 && break; sleep 1; done
driver="$(/usr/bin/docker info --format '{{.Driver}}')"
[[ "$driver" == overlay2 ]] || { log "the benchmark engine runs $driver, not overlay2; see $WORK/dockerd.log"; tail -20 "$WORK/dockerd.log" >&2; exit 1; }

# ---- a registry with the test base images ------------------------------------------------------------------------
port=""
for candidate in $(seq 16000 16999); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port="$candidate"; break; fi
done
REG="127.0.0.1:$port"
printf 'version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n  addr: %s\n' "$WORK/registry" "$REG" >"$WORK/registry.yml"
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
for flavor in sdk runtime aspnet runtime-deps; do
  skopeo copy --quiet --dest-tls-verify=false "oci:$ROOT/artifacts/base-images/oci:$flavor" "docker://$REG/dotnet/$flavor:10.0"
done
log "overlay2 engine at $DOCKER_HOST, registry at $REG, work in $WORK"

dotnet build -c Release -v:q -nologo "$ROOT/src/Cli" >"$WORK/cli-build.log" 2>&1 || { tail -20 "$WORK/cli-build.log" >&2; exit 1; }
CLI="$ROOT/src/Cli/bin/Release/net10.0/dotnet-containerize.dll"

# ---- contexts ----------------------------------------------------------------------------------------------------
context() { # case tool -> makes $WORK/ctx/<case>-<tool>, prints the file a one-line change goes to
  local name="$1" tool="$2" dir="$WORK/ctx/$1-$2"
  mkdir -p "$dir"
  case "$name" in
    dotnetapp|aspnetapp)
      cp -a "$ROOT/tests/Integration.Tests/Samples/$name/." "$dir/"
      sed -i "s|mcr.microsoft.com/dotnet/|$REG/dotnet/|" "$dir/Dockerfile"
      # Debian's Docker 20.10 embeds a BuildKit frontend that predates COPY --link; the flag changes no file.
      [[ "$tool" == buildkit ]] && sed -i 's|COPY --link |COPY |' "$dir/Dockerfile"
      if [[ "$name" == dotnetapp ]]; then echo "$dir/Program.cs"; else echo "$dir/aspnetapp/Program.cs"; fi ;;
    copy-only)
      mkdir -p "$dir/publish"; cp -a /usr/share/dotnet/shared/. "$dir/publish/"
      printf 'FROM %s/dotnet/runtime-deps:10.0\nCOPY publish/ /app/\nENV APP_HOME=/app DOTNET_gcServer=0\nLABEL org.opencontainers.image.title=copy-only\nEXPOSE 8080\nWORKDIR /app\n' "$REG" >"$dir/Dockerfile"
      echo "$dir/publish/Microsoft.NETCore.App/$(ls "$dir/publish/Microsoft.NETCore.App")/Microsoft.NETCore.App.deps.json" ;;
  esac
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A RESULTS
record() { RESULTS["$1|$2|$3"]+="$4 "; }

build() { # tool case -> seconds; fails loudly
  local tool="$1" name="$2" dir="$WORK/ctx/$2-$1" out="$WORK/$2-$1.log" t0 t1
  t0="$(now)"
  if [[ "$tool" == ours ]]; then
    dotnet "$CLI" build "$dir" --cache "$WORK/cache" --progress plain -t "bench-$name:ours" --load >"$out" 2>&1 || { tail -30 "$out" >&2; log "ours failed on $name"; exit 1; }
  else
    DOCKER_BUILDKIT=1 /usr/bin/docker build --network none --progress plain -t "bench-$name:buildkit" "$dir" >"$out" 2>&1 || { tail -30 "$out" >&2; log "BuildKit failed on $name"; exit 1; }
  fi
  t1="$(now)"
  elapsed "$t0" "$t1"
}

cold() { # tool
  if [[ "$1" == ours ]]; then rm -rf "$WORK/cache"; else /usr/bin/docker builder prune -af >/dev/null; fi
  /usr/bin/docker image rm -f $(/usr/bin/docker image ls -q "bench-*" 2>/dev/null) >/dev/null 2>&1 || true
}

for name in $CASES; do
  declare -A CHANGE
  for tool in ours buildkit; do CHANGE[$tool]="$(context "$name" "$tool")"; done
  for run in $(seq 1 "$RUNS"); do
    for tool in ours buildkit; do
      cold "$tool"
      record "$name" cold "$tool" "$(build "$tool" "$name")"
      record "$name" nochange "$tool" "$(build "$tool" "$name")"
      echo "// run $run" >>"${CHANGE[$tool]}"
      record "$name" change "$tool" "$(build "$tool" "$name")"
    done
    log "$name: run $run of $RUNS done"
  done
  [[ -f "$WORK/$name-ours.log" ]] && grep -E "^Built|layers unpacked" "$WORK/$name-ours.log" | sed 's/^/[bench-dockerfile] ours, last build: /' >&2
done

echo
echo "Dockerfile builds: Sdk.Containers vs BuildKit (Docker $(/usr/bin/docker version --format '{{.Server.Version}}'), overlay2; $(nproc) cores, $(date -u +%Y-%m-%d), medians of $RUNS runs, seconds)"
printf '%-11s %-28s %10s %10s %8s\n' case measure ours BuildKit ratio
for name in $CASES; do
  for metric in cold nochange change; do
    case "$metric" in
      cold) label="cold (empty caches)" ;;
      nochange) label="no change" ;;
      change) label="one-line change" ;;
    esac
    ours="$(tr ' ' '\n' <<<"${RESULTS["$name|$metric|ours"]}" | grep -v '^$' | median)"
    theirs="$(tr ' ' '\n' <<<"${RESULTS["$name|$metric|buildkit"]}" | grep -v '^$' | median)"
    ratio="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    printf '%-11s %-28s %10s %10s %8s\n' "$name" "$label" "$ours" "$theirs" "$ratio"
  done
done
