#!/usr/bin/env bash
# Type-checks every package with its own tsconfig, that the Worker's generated types match
# wrangler.toml, and the structure rules in .dependency-cruiser.cjs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tsc=node_modules/.bin/tsc
for project in protocol node-agent edge sfu-nodes web e2e turn terraform bench bench/room-relay bench/select; do
  "$tsc" -p "$project"
done
node node_modules/wrangler/bin/wrangler.js types --check --strict-vars=false edge/worker-configuration.d.ts >/dev/null
# Structure: no package reaches into another by a relative path; no runtime import circles.
node_modules/.bin/depcruise --config .dependency-cruiser.cjs --output-type err protocol node-agent edge sfu-nodes turn web e2e bench scripts terraform/test
