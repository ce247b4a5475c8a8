#!/usr/bin/env bash
# npm test: type checks, every package's tests, then the browser end-to-end tests, all
# inside a network namespace that holds only loopback (nothing can leave the machine).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$MERIDIAN_ROOT"

if [ "${MERIDIAN_IN_NETNS:-}" != 1 ]; then
  meridian_ensure_debian_packages
  meridian_bootstrap
  if unshare -n true 2>/dev/null; then ns=(unshare -n)
  elif unshare -rn true 2>/dev/null; then ns=(unshare -rn)
  else ns=()
  fi
  if [ ${#ns[@]} -gt 0 ]; then
    exec "${ns[@]}" env MERIDIAN_IN_NETNS=1 MERIDIAN_REQUIRE_NETNS=1 bash -c 'ip link set lo up && exec bash scripts/test.sh "$@"' test.sh "$@"
  fi
  [ "${CI:-}" = true ] && meridian_die "cannot create a loopback-only network namespace (unshare -n); CI needs one"
  meridian_log "warning: no network namespace available (unshare -n); tests run on the host's loopback"
fi

step() { meridian_log "── $1"; shift; "$@"; }
bin="$MERIDIAN_ROOT/node_modules/.bin"

step "type check" bash scripts/typecheck.sh
step "unit and integration tests (protocol, edge in workerd, sfu-nodes with mediasoup, web, turn with coturn, terraform)" "$bin/vitest" run
if command -v cloud-init >/dev/null && command -v terraform >/dev/null; then
  step "infrastructure: terraform fmt/validate/test, cloud-init schema" env MERIDIAN_INFRA_IN_NETNS=1 bash scripts/check-infra.sh --no-vitest
elif [ "${CI:-}" = true ]; then
  meridian_die "terraform and cloud-init are needed for the infrastructure checks"
else
  meridian_log "skipping the infrastructure checks: terraform or cloud-init is not installed"
fi
step "build the web app" node node_modules/vite/bin/vite.js build web --logLevel warn
step "browser end-to-end tests (Chromium)" "$bin/vitest" run --config e2e/vitest.config.ts
meridian_log "all tests passed"
