#!/usr/bin/env bash
# Type-checks every package with its own tsconfig, and that the Worker's generated types match wrangler.toml.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tsc=node_modules/.bin/tsc
for project in protocol edge sfu-nodes web e2e turn terraform bench/room-relay bench/select; do
  "$tsc" -p "$project"
done
node node_modules/wrangler/bin/wrangler.js types --check --strict-vars=false edge/worker-configuration.d.ts >/dev/null
