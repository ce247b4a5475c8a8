# Sourced by scripts/start.sh, scripts/test.sh and .ci/run: makes this checkout runnable.
#  - Node >= 22.12 on PATH (installs Node 24 from the npm registry into .tools/ if the system one is older)
#  - dependencies installed (npm ci, again only when package-lock.json changed)
#  - a mediasoup worker: MEDIASOUP_WORKER_BIN, else mediasoup's own prebuilt, else the offline
#    build tool in ../shared (development machines), else mediasoup's download; else one clear error.
# Everything it prints goes to stderr, prefixed [meridian].

MERIDIAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MERIDIAN_TOOLS="$MERIDIAN_ROOT/.tools"

meridian_log() { printf '[meridian] %s\n' "$*" >&2; }
meridian_die() { meridian_log "error: $*"; exit 1; }

meridian_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

meridian_ensure_node() {
  local dir="$MERIDIAN_TOOLS/node24"
  if [ -x "$dir/node_modules/.bin/node" ]; then export PATH="$dir/node_modules/.bin:$PATH"; fi
  meridian_node_ok && return 0
  command -v npm >/dev/null 2>&1 || meridian_die "Node.js >= 22.12 is required and npm is missing to install it"
  meridian_log "Node $(node -v 2>/dev/null || echo '(none)') is older than 22.12: installing Node 24 from the npm registry into .tools/node24"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error node@24 >&2 ||
    meridian_die "could not install Node 24 from the npm registry"
  export PATH="$dir/node_modules/.bin:$PATH"
  meridian_node_ok || meridian_die "Node 24 was installed but does not run here"
}

meridian_ensure_deps() {
  local stamp="$MERIDIAN_ROOT/node_modules/.meridian-installed"
  local want
  want="$(cat "$MERIDIAN_ROOT/package-lock.json" | sha256sum | cut -c1-16)-$(node -p 'process.versions.node.split(".")[0]')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  meridian_log "installing dependencies (npm ci)"
  # Install scripts stay off: mediasoup's would try to download or compile its worker,
  # which is handled below; esbuild and workerd find their platform packages without them.
  (cd "$MERIDIAN_ROOT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) ||
    meridian_die "npm ci failed"
  echo "$want" >"$stamp"
}

meridian_ensure_worker() {
  local default="$MERIDIAN_ROOT/node_modules/mediasoup/worker/out/Release/mediasoup-worker"
  local shared="$MERIDIAN_ROOT/../shared/tools/mediasoup-worker/build.sh"
  if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
    [ -x "$MEDIASOUP_WORKER_BIN" ] || meridian_die "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable mediasoup-worker"
    return 0
  fi
  if [ -x "$default" ]; then return 0; fi
  if [ -f "$shared" ]; then
    meridian_log "building/fetching the mediasoup worker with ../shared/tools/mediasoup-worker (cached after the first time)"
    local bin
    bin="$(bash "$shared" | tail -n 1)" || meridian_die "../shared/tools/mediasoup-worker/build.sh failed"
    export MEDIASOUP_WORKER_BIN="$bin"
    return 0
  fi
  meridian_log "downloading mediasoup's prebuilt worker"
  if (cd "$MERIDIAN_ROOT/node_modules/mediasoup" && node npm-scripts.mjs postinstall >&2) && [ -x "$default" ]; then
    return 0
  fi
  meridian_die "no mediasoup worker: set MEDIASOUP_WORKER_BIN to a mediasoup-worker binary, or allow mediasoup's prebuilt download (npm run worker:fetch -w sfu-nodes)"
}

# Debian packages the tests and the local stack use: Chromium (browser tests), coturn
# (TURN), ffmpeg (recording), iproute2/util-linux (loopback-only namespace), certutil,
# cloud-init (checks the rendered user-data), openssl. Installed with apt when root or sudo allows; otherwise
# the missing ones are named and the tests that need them say so.
MERIDIAN_DEBIAN_PACKAGES=(chromium coturn ffmpeg iproute2 util-linux libnss3-tools ca-certificates cloud-init openssl)

meridian_ensure_debian_packages() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local missing=() p sudo=""
  for p in "${MERIDIAN_DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo"; else
      meridian_log "missing Debian packages (not root, no sudo): ${missing[*]}"
      return 0
    fi
  fi
  meridian_log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
    meridian_die "apt-get install ${missing[*]} failed"
}

meridian_bootstrap() {
  meridian_ensure_node
  meridian_ensure_deps
  meridian_ensure_worker
}
