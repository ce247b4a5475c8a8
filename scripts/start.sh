#!/usr/bin/env bash
# npm start: the whole stack on this machine at http://127.0.0.1:8787.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
meridian_bootstrap
cd "$MERIDIAN_ROOT"
exec node scripts/start.ts "$@"
