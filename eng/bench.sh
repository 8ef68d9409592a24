#!/usr/bin/env bash
# Side-by-side benchmark: Sdk.Containers against the .NET SDK's built-in container support, on the same apps and the
# same base images, alternating the two in one run. Prints medians and the ratio ours/SDK for:
#   container step   the image task alone (BuildContainerImage vs CreateNewImage), publish done beforehand, archive out
#                    (ours: plain tar layers, as docker save; then again with gzip layers, as the SDK writes them)
#   push cold        the image task pushing to a local registry (a fresh repository each run)
#   push 1-line      after a one-line code change: task time, and bytes the registry's storage grew by
#   fresh runner     another one-line change pushed from an empty cache directory to the tag pushed before
#   daemon load      the image task loading into the local Docker engine
#   no-change        a whole `dotnet publish` again with nothing changed (wall time)
#   peak memory      the largest resident set of the `dotnet publish` process during the container step (this
#                    includes MSBuild itself, for both tools)
# then our raw layer throughput on a 200 MB folder next to sha256sum, gzip and pigz (bench/LayerThroughput).
# then big inputs, ours alone (the SDK has no ContainerLayer, and its ustar writer refuses files of 8 GiB): the
# container step and its peak memory for a 9 GiB (sparse) file and for 100,000 small files added as ContainerLayer,
# and then Dockerfile builds against BuildKit on an overlay2 engine (eng/bench-dockerfile.sh).
# Usage: bash eng/bench.sh            (RUNS=3 by default; APPS="console webapi large"; SECTIONS="publish big dockerfile")
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
APPS="${APPS:-console webapi large}"
SECTIONS="${SECTIONS:-publish big dockerfile}"
[[ " $SECTIONS " == *" publish "* || " $SECTIONS " == *" big "* ]] || exec bash "$ROOT/eng/bench-dockerfile.sh"

eval "$(bash eng/setup.sh)"

WORK="$(mktemp -d /tmp/sdkc-bench.XXXXXX)"
REGISTRY_PID=""
cleanup() { [[ -n "$REGISTRY_PID" ]] && kill "$REGISTRY_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

log() { echo "[bench] $*" >&2; }

# ---- a local registry with the test base images --------------------------------------------------------------
port=""
for candidate in $(seq 15000 15999); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port="$candidate"; break; fi
done
REG="127.0.0.1:$port"
cat >"$WORK/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $WORK/registry}
http:
  addr: $REG
  relativeurls: true
YAML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
for flavor in runtime runtime-deps aspnet; do
  skopeo copy --quiet --dest-tls-verify=false "oci:$ROOT/artifacts/base-images/oci:$flavor" "docker://$REG/dotnet/$flavor:10.0"
done
export DOTNET_CONTAINER_INSECURE_REGISTRIES="$REG"   # the SDK's switch for a plain-HTTP registry
export SDK_CONTAINERS_CACHE="$WORK/cache"
export MSBUILDDISABLENODEREUSE=1
log "registry at $REG; work in $WORK"

# ---- helpers -------------------------------------------------------------------------------------------------
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
task_seconds() { # log task
  sed -n '/Task Performance Summary/,$p' "$1" | awk -v t="$2" '$3 == t { printf "%.3f\n", $1 / 1000; found = 1 } END { if (!found) print "0" }'
}
storage_bytes() { du -sb "$WORK/registry" 2>/dev/null | cut -f1; }
clear_our_build_cache() { rm -rf "$SDK_CONTAINERS_CACHE/index/layers" "$SDK_CONTAINERS_CACHE/index/compressed" "$SDK_CONTAINERS_CACHE/index/outputs" "$SDK_CONTAINERS_CACHE/index/created"; }

# publish DIR LOG ARGS...: a dotnet publish with the task performance summary; fails loudly
publish() {
  local dir="$1" out="$2"; shift 2
  local measure=()
  [[ -n "${MEASURE_MEMORY:-}" ]] && measure=(/usr/bin/time -f %M -o "$MEASURE_MEMORY")
  if ! "${measure[@]}" dotnet publish "$dir" -c Release -nodeReuse:false -tl:off -v:q -clp:PerformanceSummary "$@" >"$out" 2>&1; then
    grep -E "error|Error" "$out" | head -20 >&2; log "dotnet publish failed: $dir $*"; exit 1
  fi
}

declare -A RESULTS
record() { RESULTS["$1|$2|$3"]+="$4 "; }   # app metric tool value

setup_app() { # name source -> prints the two project dirs (ours, sdk)
  local name="$1" source="$2"
  for tool in ours sdk; do
    local dir="$WORK/apps/$name-$tool"
    mkdir -p "$dir"; cp -r "$source/." "$dir/"; rm -rf "$dir/bin" "$dir/obj"
    cat >"$dir/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><add key="local" value="$ROOT/artifacts/packages" /></packageSources></configuration>
XML
    echo '<Project />' >"$dir/Directory.Build.props"; echo '<Project />' >"$dir/Directory.Packages.props"
  done
}

tool_args() { [[ "$1" == sdk ]] && echo "-p:UseSdkContainers=false" || echo "-p:UseSdkContainers=true"; }
task_name() { [[ "$1" == sdk ]] && echo CreateNewImage || echo BuildContainerImage; }

bench_app() { # name source base greeting-file greeting-text publish-args...
  local name="$1" source="$2" base="$3" file="$4" text="$5"; shift 5
  local extra=("$@")
  setup_app "$name" "$source"
  log "$name: first publish (restore, build) for both"
  for tool in ours sdk; do
    publish "$WORK/apps/$name-$tool" "$WORK/$name-$tool-prep.log" $(tool_args $tool) -p:RestoreForceEvaluate=true "${extra[@]}"
  done
  local size files
  size="$(du -sb "$(find "$WORK/apps/$name-ours/bin/Release" -type d -name publish | head -1)" | cut -f1)"
  files="$(find "$(find "$WORK/apps/$name-ours/bin/Release" -type d -name publish | head -1)" -type f | wc -l)"
  RESULTS["$name|size"]="$((size / 1000000)) MB, $files files"

  for run in $(seq 1 "$RUNS"); do
    for tool in ours sdk; do
      local dir="$WORK/apps/$name-$tool" out="$WORK/$name-$tool-$run" t0 t1 before after
      local common=($(tool_args $tool) --no-restore "${extra[@]}" "-p:ContainerBaseImage=$REG/dotnet/$base:10.0")

      # 1. the container step alone, to an archive (publish done beforehand)
      clear_our_build_cache; rm -f "$WORK/$name-$tool.tar"
      MEASURE_MEMORY="$out-step.rss" publish "$dir" "$out-step.log" "${common[@]}" --no-build -t:PublishContainer "-p:ContainerArchiveOutputPath=$WORK/$name-$tool.tar"
      record "$name" step "$tool" "$(task_seconds "$out-step.log" "$(task_name $tool)")"
      record "$name" memory "$tool" "$(( $(cat "$out-step.rss") / 1024 ))"

      # 1b. the same, the tarball holding gzip layers as the SDK's does (ours writes plain tar, as docker save, unless
      #     asked); the SDK runs the same step again
      clear_our_build_cache; rm -f "$WORK/$name-$tool.tar"
      publish "$dir" "$out-stepgz.log" "${common[@]}" --no-build -t:PublishContainer "-p:ContainerArchiveOutputPath=$WORK/$name-$tool.tar" \
        $([[ $tool == ours ]] && echo "-p:ContainerLayerCompression=gzip")
      record "$name" stepgz "$tool" "$(task_seconds "$out-stepgz.log" "$(task_name $tool)")"

      # 2. push, cold: a repository the registry has never seen
      clear_our_build_cache; before="$(storage_bytes)"
      publish "$dir" "$out-push.log" "${common[@]}" --no-build -t:PublishContainer "-p:ContainerRegistry=$REG" "-p:ContainerRepository=bench/$name-$tool-$run"
      record "$name" push "$tool" "$(task_seconds "$out-push.log" "$(task_name $tool)")"

      # 3. a one-line change, then push to the same repository
      sed -i "s|$text|$text ($tool run $run)|" "$dir/$file"
      before="$(storage_bytes)"
      publish "$dir" "$out-change.log" "${common[@]}" -t:PublishContainer "-p:ContainerRegistry=$REG" "-p:ContainerRepository=bench/$name-$tool-$run"
      after="$(storage_bytes)"
      record "$name" change "$tool" "$(task_seconds "$out-change.log" "$(task_name $tool)")"
      record "$name" bytes "$tool" "$((after - before))"

      # 3b. a fresh CI runner after another one-line change: an empty cache directory (no base, no layer, no record),
      #     pushing to the tag the previous run pushed
      sed -i "s|($tool run $run)|($tool run $run, fresh runner)|" "$dir/$file"
      publish "$dir" "$out-fresh.log" "${common[@]}" -t:PublishContainer "-p:ContainerRegistry=$REG" "-p:ContainerRepository=bench/$name-$tool-$run" \
        "-p:ContainerCacheDirectory=$WORK/fresh-cache-$name-$tool-$run"
      record "$name" fresh "$tool" "$(task_seconds "$out-fresh.log" "$(task_name $tool)")"

      # 4. load into the local Docker engine
      clear_our_build_cache
      publish "$dir" "$out-load.log" "${common[@]}" --no-build -t:PublishContainer "-p:ContainerRepository=bench/$name-$tool" \
        $([[ $tool == ours ]] && echo "-p:LocalRegistry=Docker")
      record "$name" load "$tool" "$(task_seconds "$out-load.log" "$(task_name $tool)")"

      # 5. a whole publish again with nothing changed (the archive output of step 1)
      publish "$dir" "$out-warm.log" "${common[@]}" -t:PublishContainer "-p:ContainerArchiveOutputPath=$WORK/$name-$tool.tar"
      t0="$(now)"
      publish "$dir" "$out-nochange.log" "${common[@]}" -t:PublishContainer "-p:ContainerArchiveOutputPath=$WORK/$name-$tool.tar"
      t1="$(now)"
      record "$name" nochange "$tool" "$(elapsed "$t0" "$t1")"
    done
    log "$name: run $run of $RUNS done"
  done
}

bench_big() { # name: large-file | many-files
  local name="$1" dir="$WORK/apps/$1-ours"
  setup_app "$name" "$ROOT/samples/hello"
  if [[ "$name" == large-file ]]; then
    mkdir -p "$dir/models"; printf 'MODEL' >"$dir/models/weights.bin"; truncate -s 9G "$dir/models/weights.bin"
    sed -i 's|</Project>|<ItemGroup><ContainerLayer Include="models/weights.bin" Destination="/models/weights.bin" /></ItemGroup></Project>|' "$dir/hello.csproj"
    RESULTS["$name|size"]="one 9 GiB file (sparse on disk)"
  else
    # Outside the project: in it, MSBuild's default globs would list all 100,000 files as items (and its own memory
    # would be what is measured).
    python3 -c "import os,sys; [open(os.path.join(sys.argv[1], f'd{i // 1000:03}', f'f{i:06}.txt'), 'w').write(str(i)) for i in range(100000) if os.makedirs(os.path.join(sys.argv[1], f'd{i // 1000:03}'), exist_ok=True) or True]" "$WORK/many-files-data"
    sed -i "s|</Project>|<ItemGroup><ContainerLayer Include=\"$WORK/many-files-data\" Destination=\"/data\" /></ItemGroup></Project>|" "$dir/hello.csproj"
    RESULTS["$name|size"]="100,000 files of a few bytes"
  fi
  publish "$dir" "$WORK/$name-prep.log" $(tool_args ours) -p:RestoreForceEvaluate=true
  for run in $(seq 1 "$RUNS"); do
    clear_our_build_cache; rm -f "$WORK/$name.tar"
    MEASURE_MEMORY="$WORK/$name-$run.rss" publish "$dir" "$WORK/$name-$run.log" $(tool_args ours) --no-restore --no-build -t:PublishContainer \
      "-p:ContainerBaseImage=$REG/dotnet/runtime:10.0" "-p:ContainerArchiveOutputPath=$WORK/$name.tar" -p:ContainerLayerCompression=gzip
    record "$name" step ours "$(task_seconds "$WORK/$name-$run.log" BuildContainerImage)"
    record "$name" memory ours "$(( $(cat "$WORK/$name-$run.rss") / 1024 ))"
  done
  log "$name: $RUNS runs done"
}

[[ " $SECTIONS " == *" publish "* ]] || APPS=""
for app in $APPS; do
  case "$app" in
    console) bench_app console "$ROOT/samples/hello" runtime Program.cs "Hello from Sdk.Containers!" ;;
    webapi) bench_app webapi "$ROOT/samples/webapi" runtime-deps Program.cs "Hello from the Sdk.Containers web sample!" -r linux-x64 --self-contained ;;
    large) bench_app large "$ROOT/bench/apps/large" runtime-deps Program.cs "large app" -r linux-x64 --self-contained ;;
  esac
done

# ---- the table -----------------------------------------------------------------------------------------------
echo
echo "Sdk.Containers vs the .NET SDK's built-in containers ($(nproc) cores, $(date -u +%Y-%m-%d), medians of $RUNS runs)"
printf '%-8s %-40s %12s %12s %8s\n' app measure ours SDK ours/SDK
for app in $APPS; do
  echo "$app: ${RESULTS["$app|size"]}"
  for metric in step stepgz push change bytes fresh load nochange memory; do
    case "$metric" in
      step) label="container step, to an archive (s)" ;;
      stepgz) label="  the same, gzip layers in both (s)" ;;
      push) label="push, cold (s)" ;;
      change) label="push after a one-line change (s)" ;;
      bytes) label="  bytes uploaded then (registry growth)" ;;
      fresh) label="fresh runner, one-line change, push (s)" ;;
      load) label="load into the local daemon (s)" ;;
      nochange) label="no-change re-publish, whole (s)" ;;
      memory) label="peak memory, container step (MB)" ;;
    esac
    ours="$(tr ' ' '\n' <<<"${RESULTS["$app|$metric|ours"]}" | grep -v '^$' | median)"
    sdk="$(tr ' ' '\n' <<<"${RESULTS["$app|$metric|sdk"]}" | grep -v '^$' | median)"
    ratio="$(awk -v a="$ours" -v b="$sdk" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    printf '%-8s %-40s %12s %12s %8s\n' "" "$label" "$ours" "$sdk" "$ratio"
  done
done

if [[ " $SECTIONS " == *" big "* ]]; then
  for name in large-file many-files; do bench_big "$name"; done
  echo
  echo "Big inputs, ours alone (medians of $RUNS; peak memory of the whole dotnet publish process, MSBuild included)"
  for name in large-file many-files; do
    step="$(tr ' ' '\n' <<<"${RESULTS["$name|step|ours"]}" | grep -v '^$' | median)"
    memory="$(tr ' ' '\n' <<<"${RESULTS["$name|memory|ours"]}" | grep -v '^$' | median)"
    printf '%-11s %-34s container step %8s s   peak memory %6s MB\n' "$name" "${RESULTS["$name|size"]}" "$step" "$memory"
  done
fi

if [[ " $SECTIONS " == *" publish "* ]]; then
  echo
  echo "Layer throughput on 200 MB of the installed .NET runtime, copied (bench/LayerThroughput):"
  dotnet run -c Release --project "$ROOT/bench/LayerThroughput" -- - 200 2>&1 | grep -E "Input|median"
fi

if [[ " $SECTIONS " == *" dockerfile "* ]]; then
  echo
  SDKC_SETUP_DONE=1 bash "$ROOT/eng/bench-dockerfile.sh"
fi
