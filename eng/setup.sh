#!/usr/bin/env bash
# What the test, sample and benchmark scripts need first: the test environment (Docker engine, skopeo, umoci,
# docker-registry), the test base images and a fresh pack of this repository. Prints the environment to eval.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/eng/test-env.sh"
bash "$ROOT/eng/build-base-images.sh"
bash "$ROOT/eng/pack.sh"
