# openapi-operator-gen: one entry point for humans and CI. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
export INSTA_UPDATE ?= no
export CARGO_TERM_COLOR ?= never

PETSTORE_SPEC := specs/petstore-3.0.yaml
EXAMPLES := generated-examples
GEN := $(CARGO) run -q -p openapi-operator-gen --

.PHONY: help build test test-large lint fmt fmt-check regen check-generated demo bench ci clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

build: ## build every crate (generator, runtime, test kit, generated examples)
	$(CARGO) build --workspace --all-targets

test: ## run the whole test suite (unit, golden, CLI, e2e against the test API server)
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

test-large: ## generate the GitHub and Kubernetes operators (299 and 426 kinds), clippy -D warnings, build and test them
	./scripts/test-large.sh

lint: fmt-check ## rustfmt check + clippy -D warnings over the workspace
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the workspace
	$(CARGO) fmt --all

fmt-check: ## check formatting
	$(CARGO) fmt --all --check

regen: ## regenerate generated-examples/ from specs/
	$(GEN) --spec $(PETSTORE_SPEC) --output $(EXAMPLES)/petstore --runtime-path runtime --workspace-member --quiet
	$(GEN) --spec specs/kitchen-sink.yaml --output $(EXAMPLES)/kitchen-sink --runtime-path runtime --workspace-member --quiet
	$(GEN) --spec specs/petstore-swagger-2.0.yaml --group petstore-v2.example.com --output $(EXAMPLES)/petstore-swagger2 --runtime-path runtime --workspace-member --quiet
	$(GEN) --spec specs/collisions.yaml --output $(EXAMPLES)/collisions --runtime-path runtime --workspace-member --quiet
	$(GEN) --spec specs/schema-features.yaml --output $(EXAMPLES)/schema-features --runtime-path runtime --workspace-member --quiet
	$(GEN) --spec specs/podinfo-3.0.yaml --output $(EXAMPLES)/podinfo --runtime-path runtime --workspace-member --quiet
	$(GEN) --spec specs/fastapi-3.1.json --output $(EXAMPLES)/fastapi-3.1 --runtime-path runtime --workspace-member --quiet

check-generated: regen ## fail if generated-examples/ differs from what the generator emits now
	@changes=$$(git status --porcelain -- $(EXAMPLES)); \
	if [ -n "$$changes" ]; then echo "$$changes"; git --no-pager diff -- $(EXAMPLES) | head -200; \
	  echo "generated-examples/ is stale: run 'make regen' and commit the result"; exit 1; fi

demo: ## generate + build the Petstore operator, run it against a local API server and backend
	./scripts/demo.sh

bench: ## benchmarks: generation time, aggregate over 1,000 resources (≤ 50 ms), Resource scale (1,000 CRs ≤ 2× lower bound, 0 steady-state writes, RSS with 10,000 CRs ≤ 64 MiB)
	$(CARGO) bench -p openapi-operator-gen --bench generate
	$(CARGO) bench -p openapi-operator-runtime --bench aggregate
	$(CARGO) build --release -p petstore-operator --bins
	$(CARGO) bench -p integration-tests --bench scale

ci: lint check-generated test test-large ## everything CI runs

clean: ## remove build output
	$(CARGO) clean
