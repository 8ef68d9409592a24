#!/usr/bin/env bash
# The main job (README): publishes samples/hello into an image with `dotnet publish -p:PublishContainer=true`, onto
# the test runtime base image, then loads the tarball into the test Docker engine and runs it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

eval "$(bash eng/setup.sh)"

archive="$ROOT/artifacts/sample/hello.tar"
dotnet publish samples/hello -c Release -p:PublishContainer=true -p:RestoreForceEvaluate=true -nodeReuse:false \
  -p:ContainerBaseImage="oci:$ROOT/artifacts/base-images/oci:runtime" \
  -p:ContainerArchiveOutputPath="$archive"
echo "--- docker load -i $archive"
/usr/bin/docker load -i "$archive"
echo "--- docker run --rm --network none hello:latest"
/usr/bin/docker run --rm --network none hello:latest
