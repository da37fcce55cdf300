# praxis-adapter: the two commands a newcomer needs are `make run` and `make test`.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 30s
STATICCHECK_VERSION ?= v0.8.2
# package:FuzzTarget pairs run by `make fuzz`; their seed corpora run in `make test`.
FUZZ_TARGETS = \
	./adapter/praxis:FuzzExtract \
	./adapter/praxis:FuzzVerify \
	./adapter/praxis:FuzzDecodeNotification \
	./adapter/cloudevent:FuzzAppendString \
	./ingress:FuzzWebhooks \
	./idempotency:FuzzClaimRecord

.PHONY: all build run test test-short bench soak lint fuzz clean

all: lint test

build:
	$(GO) build -o bin/praxis-adapter ./cmd/praxis-adapter

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

## fuzz: each fuzz target for FUZZTIME (default 30s).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

clean:
	rm -rf bin data
