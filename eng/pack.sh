#!/usr/bin/env bash
# Packs the MSBuild package and the CLI tool into artifacts/packages. Each pack gets a later pre-release version so
# that projects referencing Sdk.Containers 0.1.0-* (the samples, the end-to-end tests) restore this build and never a
# stale copy from the NuGet cache.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SUFFIX="${VERSION_SUFFIX:-dev.$(date -u +%Y%m%d%H%M%S)}"
dotnet pack "$ROOT/Sdk.Containers.sln" -c Release -o "$ROOT/artifacts/packages" -p:VersionSuffix="$SUFFIX" -nologo -v:q "$@" >&2
echo "[pack] Sdk.Containers 0.1.0-$SUFFIX in $ROOT/artifacts/packages" >&2
