#!/usr/bin/env bash
# The test command (README, .ci/run): on a fresh Debian machine, as root, installs and starts the test environment,
# builds the test base images and the package, then runs every test project. Ends with "N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

eval "$(bash eng/setup.sh)"

results="$ROOT/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
status=0
dotnet test Sdk.Containers.sln -c Release --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" || status=$?

passed=0; failed=0; total=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"; f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  t="$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); total=$((total + ${t:-0}))
done
if (( total == 0 )); then
  echo "no test results were found in $results" >&2; status=1
fi
echo "$passed passed, $failed failed"
exit "$status"
