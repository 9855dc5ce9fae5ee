# fleetctl — build, test, demo, benchmarks. `make help` lists the targets.
SHELL      := /usr/bin/env bash
GO         ?= go
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN        := bin
STANDIN    ?= fleetctl/webui-standin:dev
DEMO       := examples/demo/fleet.yaml
LDFLAGS    := -s -w -X main.version=$(VERSION)

.PHONY: help build build-test standin image test test-unit vet shellcheck fmt-check demo demo-clean bench bench-migrate bench-backup bench-startup bench-sync bench-sync-pass bench-sync-initial fuzz clean bench-hosts bench-move bench-rollout prometheus-image

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/fleetctl
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/fleetctl ./cmd/fleetctl

build-test: ## build bin/fleetctl-test: bin/fleetctl plus the integration tests' fault-injection hooks (-tags fleetctl_testhooks)
	CGO_ENABLED=0 $(GO) build -trimpath -tags fleetctl_testhooks -ldflags '$(LDFLAGS)' -o $(BIN)/fleetctl-test ./cmd/fleetctl

image: ## build the fleetctl image (FROM scratch, for `fleetctl watch` with the Docker socket mounted)
	./scripts/build-image.sh fleetctl/fleetctl:dev $(VERSION)

standin: ## build the Open WebUI stand-in image (fleetctl/webui-standin:dev)
	./scripts/build-standin.sh $(STANDIN)

PROMETHEUS_IMAGE ?= fleetctl/prometheus-local:dev

prometheus-image: ## build a local Prometheus image from Debian's prometheus package (the monitoring deploy tests run it; nothing is pulled)
	./scripts/build-prometheus.sh $(PROMETHEUS_IMAGE)

vet: ## go vet and gofmt (also the test-hook and benchmark build tags, so they cannot rot)
	$(GO) vet ./...
	$(GO) vet -tags fleetctl_testhooks ./cmd/fleetctl
	$(GO) vet -tags syncbench ./pkg/replicate
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

shellcheck: ## shellcheck every shell script: *.sh, *.bash and every file with a sh/bash shebang (.ci/run)
	@command -v shellcheck >/dev/null || { echo "shellcheck is needed (Debian: apt-get install shellcheck; .ci/run installs it)"; exit 1; }
	@files=$$(git ls-files | while read -r f; do \
	    case "$$f" in (*.sh|*.bash) echo "$$f"; continue;; esac; \
	    [ -f "$$f" ] && head -n1 "$$f" | grep -qE '^#!.*[/ ](ba|da)?sh([[:space:]]|$$)' && echo "$$f"; \
	  done); \
	  test -n "$$files" || { echo "shellcheck: no shell scripts found (not a git checkout?)"; exit 1; }; \
	  echo shellcheck $$files; shellcheck $$files

test-unit: ## unit tests only (no Docker)
	FLEETCTL_SKIP_DOCKER=1 $(GO) test -count=1 ./...

test: vet shellcheck standin prometheus-image build build-test ## everything: vet, unit and integration tests against the real Docker engine (on bin/fleetctl-test)
	FLEETCTL_BIN=$(CURDIR)/$(BIN)/fleetctl-test FLEETCTL_STANDIN_IMAGE=$(STANDIN) FLEETCTL_PROMETHEUS_IMAGE=$(PROMETHEUS_IMAGE) $(GO) test -race -count=1 -timeout 20m ./...

demo: build standin ## apply examples/demo (3 clients on the stand-in image) and show each one
	./scripts/demo.sh $(BIN)/fleetctl $(DEMO)

demo-clean: build ## remove the demo's containers (volumes are kept: fleetctl never deletes data)
	./scripts/demo.sh --clean $(BIN)/fleetctl $(DEMO)

bench: build standin ## benchmarks: planner scaling, and fleetctl vs docker-compose side by side
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/plan/
	./scripts/bench-startup.sh --inittrace --breakdown $(BIN)/fleetctl
	STANDIN=$(STANDIN) ./scripts/bench-compose.sh $(BIN)/fleetctl
	STANDIN=$(STANDIN) ./scripts/bench-rollout.sh $(BIN)/fleetctl
	./scripts/bench-watch.sh $(BIN)/fleetctl
	STANDIN=$(STANDIN) ./scripts/bench-verify.sh $(BIN)/fleetctl
	FLEETCTL_STANDIN_IMAGE=$(STANDIN) ./scripts/bench-hosts.sh $(BIN)/fleetctl
	FLEETCTL_STANDIN_IMAGE=$(STANDIN) ./scripts/bench-move.sh $(BIN)/fleetctl
	./scripts/bench-migrate.sh
	./scripts/bench-backup.sh $(BIN)/fleetctl $(STANDIN)
	./scripts/bench-sync.sh $(BIN)/fleetctl
	./scripts/bench-sync-initial.sh
	$(MAKE) bench-sync-pass

bench-migrate: ## SQLite → PostgreSQL migration: fleetctl's engine vs pgloader on the real v0.11.0 schema, 1M and 2M rows (prints the docs/BENCHMARKS.md section)
	./scripts/bench-migrate.sh

bench-backup: build standin ## backup of a 320 MB client under writes: fleetctl vs tar czf, restic re-backup, restore (prints the docs/BENCHMARKS.md section)
	./scripts/bench-backup.sh $(BIN)/fleetctl $(STANDIN)

bench-hosts: build standin ## no-op plan over 3 hosts x 30 clients (extra dockerd, root) vs each host alone (prints the docs/BENCHMARKS.md section)
	FLEETCTL_STANDIN_IMAGE=$(STANDIN) ./scripts/bench-hosts.sh $(BIN)/fleetctl

bench-move: build standin ## downtime of moving a 320 MB client between two hosts (extra dockerd, root) vs a stop-first replace (prints the docs/BENCHMARKS.md section)
	FLEETCTL_STANDIN_IMAGE=$(STANDIN) ./scripts/bench-move.sh $(BIN)/fleetctl

bench-rollout: build standin ## rollout of a new image to 20 clients: fleetctl (canary, maxParallel 2 and 4) vs Compose v5 up -d vs the old scripts' loop
	STANDIN=$(STANDIN) ./scripts/bench-rollout.sh $(BIN)/fleetctl

bench-sync: build ## HA sync: failover after a leader crash, graceful hand-off (20 trials each), lag at 100 writes/s, node RSS (prints the docs/BENCHMARKS.md section)
	./scripts/bench-sync.sh $(BIN)/fleetctl

bench-sync-pass: ## HA sync: what recording a job (fenced vs unfenced) costs a pass, in round trips and time, directly and through pgbouncer
	$(GO) test -tags syncbench -count=1 -v -run '^TestPassCost$$' ./pkg/replicate/ | grep -E '^ *bench_pass_test.go:[0-9]+: \|' | sed 's/^ *bench_pass_test.go:[0-9]*: //'

bench-sync-initial: ## HA sync: initial sync of the 1M-row v0.11.0 fixture through a node vs the migration's copy, same PostgreSQL, 3 rounds (prints the docs/BENCHMARKS.md section)
	./scripts/bench-sync-initial.sh

bench-startup: build ## process start-up: fleetctl version vs a Go hello-world, medians of 20 (prints the docs/BENCHMARKS.md section)
	./scripts/bench-startup.sh --inittrace --breakdown $(BIN)/fleetctl

fuzz: ## fuzz the fleet.yaml loader for 60s
	$(GO) test ./pkg/fleet -run '^$$' -fuzz FuzzParse -fuzztime 60s -fuzzminimizetime 3s

clean: ## remove build output
	rm -rf $(BIN)
