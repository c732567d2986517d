#!/usr/bin/env bash
# Large-spec proof: generate the GitHub (OAS 3.0) and Kubernetes (Swagger 2.0) operators as
# standalone crates and compile them: clippy -D warnings over every target, then `cargo test`, which
# builds the operator and crdgen binaries (cargo builds a crate's binaries for its integration
# tests) and runs the crate's tests (every CRD file matches the compiled types, every sample
# round-trips). The operator binary is where every kind's controller is compiled: minutes on 2 cores.
#
# The crates get the workspace's Cargo.lock and share its target dir, so dependencies compiled for
# the workspace are reused. Incremental compilation and debug info of the large crate itself are
# off: for hundreds of kinds they run to gigabytes and are never used here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/large-specs
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
GEN=$CARGO_TARGET_DIR/debug/openapi-operator-gen

step() { printf '\n==> %s\n' "$*"; }
timed() {
  local label=$1; shift
  local start=$SECONDS
  "$@"
  printf '    %s: %ds\n' "$label" $((SECONDS - start))
}

cargo build -q -p openapi-operator-gen --bin openapi-operator-gen
for entry in github:specs/github-3.0.json kubernetes:specs/kubernetes-swagger-2.0.json; do
  name=${entry%%:*}
  spec=${entry#*:}
  dir=$OUT/$name
  step "$name: generate from $spec"
  rm -rf "$dir"
  "$GEN" --spec "$spec" --output "$dir" --runtime-path runtime --workspace standalone --quiet
  # Same dependency versions as the workspace (cargo prunes the packages the crate does not use).
  cp Cargo.lock "$dir/Cargo.lock"
  kinds=$(grep -c '::kube::CustomResourceExt>::crd()' "$dir/src/lib.rs")
  echo "    $kinds kinds"
  (
    cd "$dir"
    # Set here, not for the generator build above: it would rebuild the workspace's crates.
    export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=false
    step "$name: clippy --all-targets -D warnings"
    timed clippy cargo clippy -q --all-targets -- -D warnings
    step "$name: cargo test (builds the binaries)"
    timed test cargo test -q
    "$CARGO_TARGET_DIR/debug/$name-operator" --version
  )
done
