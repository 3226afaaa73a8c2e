# resingest: build, local services, tests.
#
# `make test` works on a fresh machine as root: it installs what is missing,
# starts the local services (scripts/dev-services), runs vet and the tests
# against them and stops the services again, whatever the outcome, keeping
# the tests' exit status.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go
DEV := scripts/dev-services
TEST_TIMEOUT ?= 30m

.PHONY: deps build services-up services-down services-status test bench demo clean

## deps: install what is missing (postgresql-15, kcat, node_modules, Go modules)
deps:
	$(DEV) deps
	$(GO) mod download

## build: build bin/resingest
build:
	$(GO) build -o bin/resingest ./cmd/resingest

services-up:
	$(DEV) up

services-down:
	$(DEV) down

services-status:
	$(DEV) status

# with_services runs $(1) with the services' environment. Services that were
# not all running before are stopped afterwards (the EXIT trap also runs on
# failure and on SIGINT/SIGTERM); bash keeps the command's exit status.
define with_services
	@if $(DEV) status >/dev/null 2>&1; then keep=1; else keep=; fi; \
	stop() { [[ -n $$keep ]] || { mkdir -p .dev; $(DEV) down >.dev/down.log 2>&1; } || { cat .dev/down.log >&2; return 1; }; }; \
	trap stop EXIT; \
	$(DEV) up; \
	eval "$$($(DEV) env)"; \
	$(1)
endef

## test: vet and test everything against the local services
test: deps build
	$(call with_services,$(GO) vet ./... && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...)

## bench: run the benchmarks against the local services (the machine and its load are printed first: quote figures with them)
bench: deps build
	@echo "machine: $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB; $$(uptime)"
	$(call with_services,$(GO) test -run '^$$' -bench . -benchmem -timeout $(TEST_TIMEOUT) ./parse/ ./sinks/... ./pii/ && \
		$(GO) test -run '^$$' -bench ParseCommand -benchtime 1x -timeout $(TEST_TIMEOUT) ./cmd/resingest/ && \
		$(GO) test -run '^$$' -bench KinesisWorker -benchtime 1x -timeout $(TEST_TIMEOUT) ./pipeline/ && \
		$(GO) test -run '^$$' -bench Backfill -benchtime 1x -timeout $(TEST_TIMEOUT) ./migrate/ && \
		$(GO) test -run '^$$' -bench APILatency -benchtime 1x -timeout $(TEST_TIMEOUT) ./api/ && \
		$(GO) test -run '^$$' -bench Pages -benchtime 1x -timeout $(TEST_TIMEOUT) ./console/ && \
		$(GO) test -run '^$$' -bench EndToEnd -benchtime 1x -timeout $(TEST_TIMEOUT) ./bench/...)

## demo: services, schema, 20,000 generated messages through Kafka into the stores, summary (the services stay up; `make services-down` stops them)
demo: deps build
	scripts/demo

## clean: stop the services and remove build output and all local service data
clean:
	$(DEV) clean
	rm -rf bin
