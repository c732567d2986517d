#!/usr/bin/env bash
# Demo: generate the Petstore operator from the stock spec, build it, and watch a Pet reach Synced
# against a local test API server and a local petstore-server. Needs only cargo and kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/.demo
rm -rf "$WORK" && mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
need() { command -v "$1" >/dev/null || { echo "demo needs '$1' on PATH" >&2; exit 1; }; }
need cargo; need kubectl; need curl

# Waits for a "listening on URL" line in a log file and prints the URL.
listen_url() {
  local log=$1
  for _ in $(seq 1 200); do
    url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$log" | head -n1)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  echo "no 'listening on' line in $log:" >&2; cat "$log" >&2; return 1
}

step "Generate the Petstore operator from specs/petstore-3.0.yaml"
cargo run -q -p openapi-operator-gen -- --spec specs/petstore-3.0.yaml \
  --output generated-examples/petstore --runtime-path runtime --workspace-member
step "Build the operator, the test API server and the Petstore backend"
cargo build -q -p petstore-operator -p test-apiserver -p petstore-server --bins
BIN=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug

step "Start a local Kubernetes API server (test double) and the Petstore backend"
"$BIN/test-apiserver" --kubeconfig-out "$WORK/kubeconfig" >"$WORK/apiserver.log" 2>&1 & PIDS+=($!)
API=$(listen_url "$WORK/apiserver.log")
"$BIN/petstore-server" --addr 127.0.0.1:0 >"$WORK/petstore.log" 2>&1 & PIDS+=($!)
BACKEND=$(listen_url "$WORK/petstore.log")
export KUBECONFIG=$WORK/kubeconfig
echo "API server: $API   backend: $BACKEND"

step "Install the CRDs"
kubectl apply -f generated-examples/petstore/deploy/crds/
kubectl wait --for=condition=Established crd --all --timeout=30s >/dev/null

step "Run the operator"
LOG_LEVEL=info "$BIN/petstore-operator" run --base-url "$BACKEND" --health-addr 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 & PIDS+=($!)

step "Create a Pet"
PET=$(kubectl apply -f generated-examples/petstore/samples/pet.yaml -o name)
echo "$PET"
if ! kubectl wait --for=jsonpath='{.status.state}'=Synced "$PET" --timeout=60s; then
  echo "Pet did not reach Synced; operator log:" >&2; tail -n 50 "$WORK/operator.log" >&2; exit 1
fi
kubectl get pets
ID=$(kubectl get "$PET" -o jsonpath='{.status.externalID}')

step "The pet in the backend (GET $BACKEND/pet/$ID)"
curl -fsS "$BACKEND/pet/$ID"; echo
echo
echo "Pet $PET is Synced and present in the backend (id $ID). Logs: $WORK/"
