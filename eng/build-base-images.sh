#!/usr/bin/env bash
# Builds the test base images (runtime-deps, runtime, aspnet, sdk) from this machine's own files: the libraries the .NET
# runtime links against (found with ldd, plus the ones it dlopens: ICU, OpenSSL, zlib), a static busybox for a shell,
# an `app` user with uid 1654 and the environment of the official images. The only network use is NuGet, for the
# arm64 apphost and runtime packs (see below).
#
# Written independently of our C# code (tar, gzip, sha256sum, jq), so that reading these images tests our reader
# against someone else's output. Output, under $OUT (default artifacts/base-images):
#   oci/                 one OCI layout holding all four, tagged runtime-deps, runtime, aspnet, sdk (with the arm64
#                        apphost pack from NuGet), runtime-multi (runtime and runtime-arm64: the arm64 shared
#                        framework from NuGet's runtime pack, no host), plus
#                        runtime-deps-multi: an index of runtime-deps for linux/amd64 and linux/arm64 (the arm64 one
#                        made from Debian's arm64 packages, downloaded and unpacked, never installed)
#   <flavor>.tar         docker-archive of each (via skopeo), named dotnet/<flavor>:<version>
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$ROOT/artifacts/base-images}"
DOTNET_ROOT="${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}"
RUNTIME_DIR="$(ls -d "$DOTNET_ROOT"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -1)"
ASPNET_DIR="$(ls -d "$DOTNET_ROOT"/shared/Microsoft.AspNetCore.App/10.* | sort -V | tail -1)"
DOTNET_VERSION="$(basename "$RUNTIME_DIR")"
ASPNET_VERSION="$(basename "$ASPNET_DIR")"
TAG="${DOTNET_VERSION%.*}"   # 10.0
EPOCH=0
STAMP="$OUT/.stamp"
WANT_STAMP="$(sha256sum "$0" | cut -c1-16)-$DOTNET_VERSION-$ASPNET_VERSION"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT_STAMP" ]]; then
  echo "[base-images] up to date in $OUT" >&2; exit 0
fi

case "$(uname -m)" in
  x86_64) ARCH=amd64; VARIANT= ;;
  aarch64) ARCH=arm64; VARIANT=v8 ;;
  *) echo "unsupported machine $(uname -m)" >&2; exit 1 ;;
esac

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT"; mkdir -p "$OUT/oci/blobs/sha256"

# Copies a file to the same path under a root, keeping its file name (a soname) but storing the bytes it resolves to.
copy_into() { # root path
  local dir; dir="$(readlink -f "$(dirname "$2")")"
  mkdir -p "$1$dir"; cp -L "$2" "$1$dir/$(basename "$2")"
}

# ---- runtime-deps rootfs ---------------------------------------------------------------------------------------
DEPS="$WORK/runtime-deps"
mkdir -p "$DEPS"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,tmp,root,home/app,var/tmp}
ln -s usr/bin "$DEPS/bin"; ln -s usr/sbin "$DEPS/sbin"; ln -s usr/lib "$DEPS/lib"; ln -s usr/lib64 "$DEPS/lib64"
chmod 1777 "$DEPS/tmp" "$DEPS/var/tmp"; chmod 700 "$DEPS/root"
libs=()
for f in "$RUNTIME_DIR"/*.so "$DOTNET_ROOT/dotnet" /usr/lib/x86_64-linux-gnu/libicu{uc,i18n,data}.so.7? \
         /usr/lib/*-linux-gnu/libssl.so.3 /usr/lib/*-linux-gnu/libcrypto.so.3 /usr/lib/*-linux-gnu/libz.so.1; do
  [[ -e "$f" ]] || continue
  [[ "$f" == *-linux-gnu/* ]] && libs+=("$f")
  while read -r lib; do libs+=("$lib"); done < <(ldd "$f" 2>/dev/null | grep -o '/[^ ]*\.so[^ ]*' || true)
done
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do copy_into "$DEPS" "$lib"; done
cp /bin/busybox "$DEPS/usr/bin/busybox"
# The Debian packages those files come from, recorded as dpkg records them (installed packages' paragraphs of
# var/lib/dpkg/status) with the distribution's os-release: what a scanner, or our SBOM, reads from a Debian image.
owner_of() { # path
  local real; real="$(readlink -f "$1")"
  { dpkg -S "$1" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null; } | head -1 | sed 's/: .*//'
}
mkdir -p "$DEPS/var/lib/dpkg"
for pkg in $(for f in $(printf '%s\n' "${libs[@]}" | sort -u) /bin/busybox; do owner_of "$f"; done | sort -u); do
  dpkg-query -s "$pkg"; echo
done >"$DEPS/var/lib/dpkg/status"
cp -L /etc/os-release "$DEPS/etc/os-release"
for applet in sh ls cat echo id env ps rm mkdir touch wget sleep test true false uname head grep sed; do
  ln -s busybox "$DEPS/usr/bin/$applet"
done
cat >"$DEPS/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
app:x:1654:1654:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$DEPS/etc/group" <<GROUP
root:x:0:
app:x:1654:
nogroup:x:65534:
GROUP
chown 1654:1654 "$DEPS/home/app"
[[ -f /etc/ssl/certs/ca-certificates.crt ]] && { mkdir -p "$DEPS/etc/ssl/certs"; cp /etc/ssl/certs/ca-certificates.crt "$DEPS/etc/ssl/certs/"; }
echo "hosts: files dns" >"$DEPS/etc/nsswitch.conf"

# ---- runtime-deps for arm64, from Debian's arm64 packages -------------------------------------------------------
build_arm64_deps() {
  local root="$1" debs="$WORK/debs-arm64" staging="$WORK/staging-arm64"
  mkdir -p "$debs" "$staging" "$root"/{usr/bin,usr/sbin,usr/lib,etc,tmp,root,home/app,var/tmp}
  ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"
  chmod 1777 "$root/tmp" "$root/var/tmp"; chmod 700 "$root/root"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq >&2
  fi
  (cd "$debs" && apt-get download -qq libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 libssl3:arm64 zlib1g:arm64 libicu72:arm64 busybox-static:arm64 >&2 2>/dev/null) \
    || { apt-get update -qq >&2; (cd "$debs" && apt-get download -qq libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 libssl3:arm64 zlib1g:arm64 libicu72:arm64 busybox-static:arm64 >&2); }
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$staging"; done
  # Debian still ships some files under /lib and /bin; in this merged-/usr tree they belong under /usr.
  for dir in lib bin sbin; do
    [[ -d "$staging/$dir" && ! -L "$staging/$dir" ]] && { mkdir -p "$root/usr/$dir"; cp -a "$staging/$dir/." "$root/usr/$dir/"; }
  done
  cp -a "$staging/usr/lib/." "$root/usr/lib/"
  [[ -e "$root/usr/bin/busybox" ]] || cp -a "$staging/bin/busybox" "$root/usr/bin/busybox"
  for applet in sh ls cat echo id env ps rm mkdir touch wget sleep test true false uname head grep sed; do
    ln -sf busybox "$root/usr/bin/$applet"
  done
  rm -rf "$root/usr/share"
  cp "$DEPS/etc/passwd" "$DEPS/etc/group" "$DEPS/etc/nsswitch.conf" "$root/etc/"
  chown 1654:1654 "$root/home/app"
}
DEPS_ARM64="$WORK/runtime-deps-arm64"
build_arm64_deps "$DEPS_ARM64"

# ---- runtime and aspnet additions -------------------------------------------------------------------------------
RT="$WORK/runtime"
mkdir -p "$RT/usr/share/dotnet/shared/Microsoft.NETCore.App" "$RT/usr/bin"
cp -a "$DOTNET_ROOT/dotnet" "$RT/usr/share/dotnet/"
cp -a "$DOTNET_ROOT/host" "$RT/usr/share/dotnet/"
cp -a "$RUNTIME_DIR" "$RT/usr/share/dotnet/shared/Microsoft.NETCore.App/"
ln -s ../share/dotnet/dotnet "$RT/usr/bin/dotnet"
ASP="$WORK/aspnet"
mkdir -p "$ASP/usr/share/dotnet/shared/Microsoft.AspNetCore.App"
cp -a "$ASPNET_DIR" "$ASP/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
# The SDK image is aspnet plus the rest of the installed .NET (sdk/, packs/, templates, manifests), as the official
# sdk image is; NuGet has no feed to reach in the tests, so what a restore needs must be in packs/ already.
SDKL="$WORK/sdk"
mkdir -p "$SDKL/usr/share/dotnet"
for entry in "$DOTNET_ROOT"/*; do
  case "$(basename "$entry")" in dotnet|host|shared) ;; *) cp -a "$entry" "$SDKL/usr/share/dotnet/" ;; esac
done
SDK_VERSION="$(ls "$DOTNET_ROOT/sdk" | sort -V | tail -1)"

# ---- arm64 .NET from NuGet (the only registry besides Debian's this machine reaches) ----------------------------
# The SDK image gets the arm64 apphost pack in packs/, so `dotnet restore -a arm64` works with --network none as it
# works online; runtime-arm64 is runtime-deps-arm64 plus the arm64 shared framework from the runtime pack. NuGet ships
# no arm64 `dotnet` host, so that image can be built on and inspected here but not run (nothing arm64 runs here anyway).
fetch_nuget() { # id version -> prints the package folder
  local project="$WORK/nuget-$1"
  mkdir -p "$project"
  printf '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup><ItemGroup><PackageDownload Include="%s" Version="[%s]" /></ItemGroup></Project>\n' "$1" "$2" >"$project/fetch.csproj"
  dotnet restore "$project/fetch.csproj" --packages "$WORK/nuget-packages" -v:q >&2
  echo "$WORK/nuget-packages/${1,,}/$2"
}
APPHOST_ARM64="$(fetch_nuget Microsoft.NETCore.App.Host.linux-arm64 "$DOTNET_VERSION")"
mkdir -p "$SDKL/usr/share/dotnet/packs/Microsoft.NETCore.App.Host.linux-arm64/$DOTNET_VERSION"
cp -a "$APPHOST_ARM64/runtimes" "$SDKL/usr/share/dotnet/packs/Microsoft.NETCore.App.Host.linux-arm64/$DOTNET_VERSION/"
RUNTIME_ARM64="$(fetch_nuget Microsoft.NETCore.App.Runtime.linux-arm64 "$DOTNET_VERSION")"
RTA="$WORK/runtime-arm64"
mkdir -p "$RTA/usr/share/dotnet/shared/Microsoft.NETCore.App/$DOTNET_VERSION"
cp -a "$RUNTIME_ARM64/runtimes/linux-arm64/lib/net10.0/." "$RUNTIME_ARM64/runtimes/linux-arm64/native/." "$RTA/usr/share/dotnet/shared/Microsoft.NETCore.App/$DOTNET_VERSION/"

# ---- blobs -------------------------------------------------------------------------------------------------------
put_blob() { # file -> prints digest hex
  local hex; hex="$(sha256sum "$1" | cut -d' ' -f1)"
  mv "$1" "$OUT/oci/blobs/sha256/$hex"; echo "$hex"
}

layer() { # dir -> sets LAYER_DIFF LAYER_HEX LAYER_SIZE
  local tarfile="$WORK/layer.tar"
  # Owners as on disk (root, but the app user's home is theirs, as in the official images).
  tar --sort=name --mtime="@$EPOCH" --numeric-owner --format=posix \
      --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$1" -cf "$tarfile" .
  LAYER_DIFF="sha256:$(sha256sum "$tarfile" | cut -d' ' -f1)"
  if command -v pigz >/dev/null; then pigz -n -6 "$tarfile"; else gzip -n -6 "$tarfile"; fi
  LAYER_SIZE="$(stat -c %s "$tarfile.gz")"
  LAYER_HEX="$(put_blob "$tarfile.gz")"
}

layer "$DEPS"; D1="$LAYER_DIFF"; H1="$LAYER_HEX"; S1="$LAYER_SIZE"
layer "$RT";   D2="$LAYER_DIFF"; H2="$LAYER_HEX"; S2="$LAYER_SIZE"
layer "$ASP";  D3="$LAYER_DIFF"; H3="$LAYER_HEX"; S3="$LAYER_SIZE"
layer "$SDKL"; D4="$LAYER_DIFF"; H4="$LAYER_HEX"; S4="$LAYER_SIZE"
layer "$DEPS_ARM64"; DA="$LAYER_DIFF"; HA="$LAYER_HEX"; SA="$LAYER_SIZE"
layer "$RTA"; DRA="$LAYER_DIFF"; HRA="$LAYER_HEX"; SRA="$LAYER_SIZE"

BASE_ENV='["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP_UID=1654","ASPNETCORE_HTTP_PORTS=8080","DOTNET_RUNNING_IN_CONTAINER=true"]'
CREATED="$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"

image() { # name env-json diffids-json layers-json history-json [arch variant]
  local config="$WORK/config.json" manifest="$WORK/manifest.json" chex csize mhex msize
  local arch="${6:-$ARCH}" variant="${7-$VARIANT}"
  jq -cn --arg arch "$arch" --arg variant "$variant" --arg created "$CREATED" --argjson env "$2" \
        --argjson diffs "$3" --argjson history "$5" \
    '{created:$created, architecture:$arch, os:"linux", config:{Env:$env, WorkingDir:"/"}, rootfs:{type:"layers", diff_ids:$diffs}, history:$history}
     | if $variant != "" then .variant = $variant else . end' >"$config"
  csize="$(stat -c %s "$config")"; chex="$(put_blob "$config")"
  jq -cn --arg chex "$chex" --argjson csize "$csize" --argjson layers "$4" \
    '{schemaVersion:2, mediaType:"application/vnd.oci.image.manifest.v1+json",
      config:{mediaType:"application/vnd.oci.image.config.v1+json", digest:("sha256:"+$chex), size:$csize}, layers:$layers}' >"$manifest"
  msize="$(stat -c %s "$manifest")"; mhex="$(put_blob "$manifest")"
  jq -cn --arg name "$1" --arg mhex "$mhex" --argjson msize "$msize" --arg arch "$arch" --arg variant "$variant" \
    '{mediaType:"application/vnd.oci.image.manifest.v1+json", digest:("sha256:"+$mhex), size:$msize,
      annotations:{"org.opencontainers.image.ref.name":$name},
      platform:({os:"linux", architecture:$arch} + (if $variant != "" then {variant:$variant} else {} end))}' >>"$WORK/index-entries"
}

l() { jq -cn --arg hex "$1" --argjson size "$2" '{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip", digest:("sha256:"+$hex), size:$size}'; }
h() { jq -cn --arg c "$CREATED" --arg by "$1" '{created:$c, created_by:$by}'; }
L1="$(l "$H1" "$S1")"; L2="$(l "$H2" "$S2")"; L3="$(l "$H3" "$S3")"
HI1="$(h "runtime-deps: glibc, ICU, OpenSSL, zlib from the build machine")"
HI2="$(h "runtime: .NET $DOTNET_VERSION")"; HI3="$(h "aspnet: ASP.NET Core $ASPNET_VERSION")"
ENV_RT="$(jq -c --arg v "$DOTNET_VERSION" '. + ["DOTNET_VERSION="+$v]' <<<"$BASE_ENV")"
ENV_ASP="$(jq -c --arg v "$ASPNET_VERSION" '. + ["ASPNET_VERSION="+$v]' <<<"$ENV_RT")"

: >"$WORK/index-entries"
image runtime-deps "$BASE_ENV" "[\"$D1\"]" "[$L1]" "[$HI1]"
image runtime "$ENV_RT" "[\"$D1\",\"$D2\"]" "[$L1,$L2]" "[$HI1,$HI2]"
image aspnet "$ENV_ASP" "[\"$D1\",\"$D2\",\"$D3\"]" "[$L1,$L2,$L3]" "[$HI1,$HI2,$HI3]"
L4="$(l "$H4" "$S4")"; HI4="$(h "sdk: .NET SDK $SDK_VERSION")"
ENV_SDK="$(jq -c --arg v "$SDK_VERSION" '. + ["DOTNET_SDK_VERSION="+$v, "DOTNET_USE_POLLING_FILE_WATCHER=true", "NUGET_XMLDOC_MODE=skip", "DOTNET_GENERATE_ASPNET_CERTIFICATE=false"]' <<<"$ENV_ASP")"
image sdk "$ENV_SDK" "[\"$D1\",\"$D2\",\"$D3\",\"$D4\"]" "[$L1,$L2,$L3,$L4]" "[$HI1,$HI2,$HI3,$HI4]"
LA="$(l "$HA" "$SA")"; HIA="$(h "runtime-deps for arm64: Debian's arm64 glibc, ICU, OpenSSL, zlib and busybox")"
image runtime-deps-arm64 "$BASE_ENV" "[\"$DA\"]" "[$LA]" "[$HIA]" arm64 v8
LRA="$(l "$HRA" "$SRA")"; HIRA="$(h "runtime for arm64: the .NET $DOTNET_VERSION shared framework from the NuGet runtime pack (no host)")"
image runtime-arm64 "$ENV_RT" "[\"$DA\",\"$DRA\"]" "[$LA,$LRA]" "[$HIA,$HIRA]" arm64 v8

# The two-platform runtime-deps: a nested index of the amd64 and arm64 images, listed in index.json by name.
jq -c 'select(.annotations["org.opencontainers.image.ref.name"] == "runtime-deps" or .annotations["org.opencontainers.image.ref.name"] == "runtime-deps-arm64") | del(.annotations)' \
  "$WORK/index-entries" | jq -cs '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json", manifests:.}' >"$WORK/multi.json"
MULTI_SIZE="$(stat -c %s "$WORK/multi.json")"; MULTI_HEX="$(put_blob "$WORK/multi.json")"
jq -cn --arg hex "$MULTI_HEX" --argjson size "$MULTI_SIZE" \
  '{mediaType:"application/vnd.oci.image.index.v1+json", digest:("sha256:"+$hex), size:$size, annotations:{"org.opencontainers.image.ref.name":"runtime-deps-multi"}}' >>"$WORK/index-entries"
# runtime-multi: runtime for linux/amd64 and runtime-arm64 for linux/arm64/v8.
jq -c 'select(.annotations["org.opencontainers.image.ref.name"] == "runtime" or .annotations["org.opencontainers.image.ref.name"] == "runtime-arm64") | del(.annotations)' \
  "$WORK/index-entries" | jq -cs '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json", manifests:.}' >"$WORK/runtime-multi.json"
RMULTI_SIZE="$(stat -c %s "$WORK/runtime-multi.json")"; RMULTI_HEX="$(put_blob "$WORK/runtime-multi.json")"
jq -cn --arg hex "$RMULTI_HEX" --argjson size "$RMULTI_SIZE" \
  '{mediaType:"application/vnd.oci.image.index.v1+json", digest:("sha256:"+$hex), size:$size, annotations:{"org.opencontainers.image.ref.name":"runtime-multi"}}' >>"$WORK/index-entries"
jq -cs '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json", manifests:.}' "$WORK/index-entries" >"$OUT/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$OUT/oci/oci-layout"

for flavor in runtime-deps runtime aspnet; do
  skopeo copy --quiet "oci:$OUT/oci:$flavor" "docker-archive:$OUT/$flavor.tar:dotnet/$flavor:$TAG" >&2
done
echo "$WANT_STAMP" >"$STAMP"
echo "[base-images] built runtime-deps, runtime, aspnet, sdk ($DOTNET_VERSION, $ARCH) in $OUT" >&2
