#!/usr/bin/env bash
# Checks the TURN + Terraform infrastructure: formatting, `terraform validate` and
# `terraform test`, the rendered user-data against cloud-init's schema, the HCL
# invariant tests and the coturn tests. One line per step; a failing step prints its
# output and the script exits non-zero.
#
# Installs what it needs first (cloud-init and coturn from Debian, Node >= 22.12 and
# dependencies through scripts/bootstrap.sh, @cdktf/hcl2json into .tools/ while it is
# not a root devDependency), then runs every check inside a network namespace that
# holds only loopback. Provider modules (aws-region, envs/example) are validated and
# tested against a mocked AWS provider when a local provider mirror exists
# (TF_PROVIDER_MIRROR, default /opt/tf-plugins); without one, only their parsed HCL is.
#
#   bash scripts/check-infra.sh              everything
#   bash scripts/check-infra.sh --no-vitest  Terraform and cloud-init only (for a caller
#                                            that runs turn/ and terraform/test as vitest projects)
set -euo pipefail
run_vitest=1
for arg in "$@"; do
  case "$arg" in
    --no-vitest) run_vitest=0 ;;
    *) printf 'usage: %s [--no-vitest]\n' "$0" >&2; exit 2 ;;
  esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
HCL2JSON_VERSION=0.21.0
provider_mirror="${TF_PROVIDER_MIRROR:-/opt/tf-plugins}"

log() { printf '[check-infra] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ── Outside the namespace: installs ───────────────────────────────────────────────
if [ "${MERIDIAN_INFRA_IN_NETNS:-}" != 1 ]; then
  # shellcheck source=scripts/bootstrap.sh
  source scripts/bootstrap.sh
  meridian_ensure_node
  meridian_ensure_deps
  command -v terraform >/dev/null || die "terraform is required (1.6 or newer)"

  missing=()
  command -v cloud-init >/dev/null || missing+=(cloud-init)
  [ -x /usr/bin/turnserver ] || missing+=(coturn)
  command -v openssl >/dev/null || missing+=(openssl)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      { $sudo apt-get update -qq && $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
      die "apt-get install ${missing[*]} failed"
  fi

  if ! node -e 'require.resolve("@cdktf/hcl2json")' 2>/dev/null &&
    [ ! -f .tools/hcl2json/node_modules/@cdktf/hcl2json/package.json ]; then
    log "installing @cdktf/hcl2json $HCL2JSON_VERSION into .tools/hcl2json (HCL parser for the invariant tests)"
    npm install --prefix .tools/hcl2json --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "@cdktf/hcl2json@$HCL2JSON_VERSION" >&2 || die "could not install @cdktf/hcl2json"
  fi

  if unshare -n true 2>/dev/null; then ns=(unshare -n)
  elif unshare -rn true 2>/dev/null; then ns=(unshare -rn)
  else ns=()
  fi
  if [ ${#ns[@]} -gt 0 ]; then
    exec "${ns[@]}" env MERIDIAN_INFRA_IN_NETNS=1 PATH="$PATH" bash -c 'ip link set lo up && exec bash scripts/check-infra.sh "$@"' check-infra.sh "$@"
  fi
  [ "${CI:-}" = true ] && die "cannot create a loopback-only network namespace (unshare -n); CI needs one"
  log "warning: no network namespace available (unshare -n); checks run on the host's loopback"
fi

# ── Inside: every check, offline ─────────────────────────────────────────────────
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
step() {
  local name="$1"
  shift
  if "$@" >"$work/step.log" 2>&1; then
    passed=$((passed + 1))
    log "ok    $name"
  else
    log "FAIL  $name"
    cat "$work/step.log" >&2
    log "0 passed, 1 failed (after $passed passed)"
    exit 1
  fi
}
skip() { log "skip  $1"; }

# terraform init writes .terraform/ and lock files: it runs on a copy of what the
# modules read (terraform/, ports.json, the coturn template), never in the repository.
tree="$work/tree"
mkdir -p "$tree/turn"
cp -r terraform ports.json "$tree/"
cp turn/turnserver.conf.tftpl "$tree/turn/"
tf_in() { local dir="$1"; shift; terraform -chdir="$tree/$dir" "$@"; }

validate_and_test() {
  local dir="$1"
  shift
  tf_in "$dir" init -backend=false -input=false -no-color "$@" &&
    tf_in "$dir" validate -no-color &&
    tf_in "$dir" test -no-color
}

render_user_data() {
  tf_in terraform/test/fixtures/render init -input=false -no-color "-backend-config=path=$work/render.tfstate" &&
    TF_VAR_node_secret=test-node-secret-0123456789abcdef-0123 \
      TF_VAR_turn_static_auth_secrets='["turn-secret-current-0123456789abcdef"]' \
      tf_in terraform/test/fixtures/render apply -input=false -no-color -auto-approve &&
    tf_in terraform/test/fixtures/render output -raw sfu_user_data >"$work/sfu.yaml" &&
    tf_in terraform/test/fixtures/render output -raw turn_user_data >"$work/turn.yaml"
}

# The scripts inside the user-data, checked by bash's parser (python3-yaml comes with cloud-init).
bash_syntax_of_scripts() {
  local role
  for role in sfu turn; do
    python3 - "$work/$role.yaml" "$work/$role-scripts" <<'EOF' || return 1
import os, sys, yaml
config, out = yaml.safe_load(open(sys.argv[1])), sys.argv[2]
os.makedirs(out, exist_ok=True)
scripts = [f for f in config["write_files"] if f["content"].startswith("#!/bin/bash")]
assert scripts, "no scripts in user-data"
for f in scripts:
    open(os.path.join(out, os.path.basename(f["path"])), "w").write(f["content"])
EOF
    for script in "$work/$role-scripts"/*; do bash -n "$script" || return 1; done
  done
}

step "terraform fmt -check -recursive terraform" terraform fmt -check -recursive -no-color terraform
step "node-bootstrap: init, validate, terraform test (no provider)" validate_and_test terraform/modules/node-bootstrap
if [ -d "$provider_mirror/registry.terraform.io/hashicorp/aws" ]; then
  step "aws-region: validate, terraform test (AWS provider from $provider_mirror, mocked)" \
    validate_and_test terraform/modules/aws-region "-plugin-dir=$provider_mirror"
  step "envs/example: validate, terraform test (mocked providers)" \
    validate_and_test terraform/envs/example "-plugin-dir=$provider_mirror"
else
  skip "aws-region, envs/example: terraform validate/test (no AWS provider mirror at $provider_mirror; HCL invariants still run)"
fi
step "render SFU and TURN user-data (terraform/test/fixtures/render)" render_user_data
step "cloud-init schema: SFU user-data" cloud-init schema --config-file "$work/sfu.yaml"
step "cloud-init schema: TURN user-data" cloud-init schema --config-file "$work/turn.yaml"
step "bash -n: scripts inside the user-data" bash_syntax_of_scripts
if [ "$run_vitest" = 1 ]; then
  step "tsc: turn, terraform tests" bash -c 'node_modules/.bin/tsc -p turn && node_modules/.bin/tsc -p terraform'
  step "vitest: HCL invariants, ports vs firewall, template parity (terraform/test)" \
    node_modules/.bin/vitest run --config terraform/test/vitest.config.ts
  step "vitest: coturn config, credentials, real coturn, TURN agent (turn/)" \
    node_modules/.bin/vitest run --config turn/vitest.config.ts
fi
# The plain closing line CI and people read: N passed, N failed.
printf 'check-infra: %d passed, 0 failed\n' "$passed"
