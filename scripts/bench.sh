#!/usr/bin/env bash
# npm run bench [name…]: runs benchmarks (default: all under bench/), each printing one
# JSON line on stdout; progress goes to stderr. Runs in a loopback-only namespace.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$MERIDIAN_ROOT"
if [ "${MERIDIAN_IN_NETNS:-}" != 1 ]; then
  meridian_bootstrap
  node node_modules/vite/bin/vite.js build web --logLevel warn
  if unshare -n true 2>/dev/null; then ns=(unshare -n)
  elif unshare -rn true 2>/dev/null; then ns=(unshare -rn)
  else ns=()
  fi
  if [ ${#ns[@]} -gt 0 ]; then
    exec "${ns[@]}" env MERIDIAN_IN_NETNS=1 bash -c 'ip link set lo up && exec bash scripts/bench.sh "$@"' bench.sh "$@"
  fi
fi
# room-relay holds 1,000 sockets (4 descriptors each in workerd).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for dir in bench/*/run.ts; do names+=("$(basename "$(dirname "$dir")")"); done
fi
for name in "${names[@]}"; do
  [ -f "bench/$name/run.ts" ] || meridian_die "no benchmark bench/$name"
  meridian_log "bench $name"
  node "bench/$name/run.ts"
done
