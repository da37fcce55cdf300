# praxis-adapter: the two commands a newcomer needs are `make run` and `make test`.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 30s
STATICCHECK_VERSION ?= v0.8.2
# VERSION is stamped into the binary (`praxis-adapter --version`, praxis_build_info).
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  = -X github.com/praxis-adapter/praxis-adapter/internal/buildinfo.version=$(VERSION)
# package:FuzzTarget pairs run by `make fuzz`; their seed corpora run in `make test`.
FUZZ_TARGETS = \
	./adapter/praxis:FuzzExtract \
	./adapter/praxis:FuzzVerify \
	./adapter/praxis:FuzzDecodeNotification \
	./adapter/rebilly:FuzzDecode \
	./adapter/money:FuzzToMinor \
	./adapter/cloudevent:FuzzAppendString \
	./ingress:FuzzWebhooks \
	./adapter/ledger:FuzzIngressLedgerAgree \
	./idempotency:FuzzClaimRecord

.PHONY: all build run test test-short bench soak lint fuzz clean example-node chaos chaos-short

all: lint test

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/praxis-adapter ./cmd/praxis-adapter

## run: one process with embedded NATS, the embedded store, ingress, worker and the simulator.
run:
	PRAXIS_LOG_FORMAT=$${PRAXIS_LOG_FORMAT:-console} $(GO) run ./cmd/praxis-adapter run

## test: every test with the race detector (Redis tests need REDIS_URL, default redis://127.0.0.1:6379).
test:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short:
	$(GO) test -count=1 -short $(PKGS)

## bench: micro-benchmarks, then the load harness (starts NATS, the adapter, the simulator; Redis from REDIS_URL); prints tables.
BENCH_PKGS ?= ./adapter/praxis ./adapter/cloudevent ./subjects ./idempotency
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_PKGS)
	$(GO) run ./cmd/praxis-bench -adapter bin/praxis-adapter $(BENCH_FLAGS)

## chaos: the fault-injection suite (3-node NATS cluster, Redis with AOF, 2 ingress, 2 workers, kills and pauses); not part of `make test`.
CHAOS_FLAGS ?=
chaos: build
	$(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2
	$(GO) run ./cmd/praxis-chaos -adapter bin/praxis-adapter -nats-server bin/nats-server $(CHAOS_FLAGS)

## chaos-short: the CI profile: a few hundred messages, one fault of each kind.
chaos-short: build
	$(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2
	$(GO) run ./cmd/praxis-chaos -adapter bin/praxis-adapter -nats-server bin/nats-server \
		-notifications 1500 -commands 150 -resend-delay 5s -duplicate-window 20s $(CHAOS_FLAGS)

## soak: the worker's at-most-once soak run (not part of `make test`): SOAK_COMMANDS state-changing
## commands with random re-publishes, redeliveries, a worker killed mid-call and Praxis slow, losing
## replies and processing late, through a fault proxy; prints calls per command id and results per
## command (Redis from REDIS_URL). See RELIABILITY.md.
SOAK_COMMANDS ?= 20000
soak:
	SOAK_COMMANDS=$(SOAK_COMMANDS) $(GO) test -count=1 -v -run '^TestSoak$$' -timeout 60m ./adapter/worker/

## lint: go vet, gofmt, and staticcheck (fetched from the Go module proxy).
lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

## example-node: the Node.js example CRM (examples/node-crm) against a real `run` (needs node >= 20 and npm).
example-node: build
	cd examples/node-crm && npm ci --no-audit --no-fund && PRAXIS_ADAPTER_BIN=$(CURDIR)/bin/praxis-adapter npm test

## fuzz: each fuzz target for FUZZTIME (default 30s).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

clean:
	rm -rf bin data
