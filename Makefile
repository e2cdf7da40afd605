# prevoir's build. `make run` runs the main job on the embedded default
# store; `make test` runs every test, building a MinIO server for the S3
# tests the first time (about 7 minutes; cached outside the checkout).

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/prevoir
STORE     ?= ./prevoir-data

# Tools shared by every clone on this machine (MinIO for the S3 tests).
PREVOIR_TOOLS ?= $(HOME)/.cache/prevoir/tools
export PREVOIR_TOOLS
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO         := $(PREVOIR_TOOLS)/minio

TEST_TIMEOUT ?= 60m
FUZZTIME     ?= 60s

.PHONY: all build run test test-unit lint bench minio fuzz clean crashtest

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/prevoir

# The main job on the embedded default: a local store in $(STORE). On an
# empty store it first generates a synthetic history (20,000 customers, two
# years; a few seconds), builds churn features for 4 cutoffs 90 days apart
# (labels over 90 days), trains a churn model holding out the latest cutoff
# (C picked on the one before), makes it the champion and prints its
# holdout metrics beside a recency-only baseline's; it trains the
# propensity ranker (offers, 30-day window, its MAP@12 beside
# repeat-then-popularity), the demand count model (the 200 best sellers
# per warehouse, 4 weeks, backtested beside the classic forecasters) and
# the customer-value model (BG/NBD + Gamma-Gamma), each made champion;
# then it runs the nightly job once (`prevoir run`, config
# deploy/prevoir.yaml, rules deploy/triggers.yaml and deploy/offers.yaml):
# as of the day after the last order it publishes churn scores, offers,
# demand forecasts with the pre-positioning plan, CLV and segments
# (scores/demo/<task>/<as_of>/, then LATEST), fires the trigger rules
# (scores/demo/triggers/<as_of>/), collects garbage, keeps the run's
# report (runs/demo/reports/) and prints its summary: the top churn risks
# with reasons, a few customers' top offers, the plan for the three best
# sellers per warehouse, the triggers fired per rule. Run again, it reuses
# the dataset and the feature tables; training registers the next version
# (the same fit: the data did not change) and promotes it; the
# publications of that day are replaced.
DEMO_DATASET   ?= demo
DEMO_CUSTOMERS ?= 20000
DEMO_AS_OF     ?= 2024-10-01
DEMO_CUTOFFS   ?= 4
DEMO_STEP      ?= 90d
DEMO_MODEL     ?= churn
DEMO_TASK_ARGS  = --task churn --dataset $(DEMO_DATASET) --as-of $(DEMO_AS_OF) --cutoffs $(DEMO_CUTOFFS) --step $(DEMO_STEP) --horizon 90d
run: build
	./$(BIN) --store $(STORE) status
	./$(BIN) --store $(STORE) datasets generate --dataset $(DEMO_DATASET) --customers $(DEMO_CUSTOMERS) --end 2025-01-01
	./$(BIN) --store $(STORE) datasets describe --dataset $(DEMO_DATASET)
	./$(BIN) --store $(STORE) features build $(DEMO_TASK_ARGS) --labels
	./$(BIN) --store $(STORE) train $(DEMO_TASK_ARGS) -c 0.01,0.1,1,10 --name $(DEMO_MODEL) --promote champion
	./$(BIN) --store $(STORE) train --task propensity --dataset $(DEMO_DATASET) --as-of 2024-12-01 --cutoffs 3 --step 30d --name propensity --promote champion
	./$(BIN) --store $(STORE) train --task demand --dataset $(DEMO_DATASET) --as-of 2024-12-01 --cutoffs 4 --step 4w --top-products 200 --name demand --promote champion
	./$(BIN) --store $(STORE) train --task clv --dataset $(DEMO_DATASET) --as-of 2024-10-01 --horizon 13w --name clv --promote champion
	./$(BIN) --store $(STORE) run --config deploy/prevoir.yaml --dataset $(DEMO_DATASET)

# Every test, with a real S3 server (MinIO) for the S3 backend.
test: minio
	$(GO) vet ./...
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

# Unit tests only: no MinIO, no shared data, no heavy cases.
test-unit:
	$(GO) test -short ./...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Benchmarks beside the anchors (DuckDB, scikit-learn, xgboost), in one
# run; writes docs/BENCHMARKS.md. Needs nothing beside the checkout:
# bench/setup.sh installs missing anchors outside it (npm into
# $(HOME)/.cache/prevoir/bench, apt-get as root) and an anchor it cannot
# get is reported as unavailable. Real data sets (bank-full.csv for the
# logistic benchmark) come from PREVOIR_DATA (default ../shared/data) and
# are skipped, with a note, when absent. BENCH_QUICK=1: small sizes, once;
# BENCH_ONLY=import,xgb: only those.
bench: build
	bash bench/run.sh

# The crash-test suite at length (cmd/prevoir/crashtest): CRASH_TRIALS
# SIGKILLs per command, store and kill mode, and races of several
# processes, on a folder and on MinIO; writes docs/RELIABILITY.md. `make
# test` runs the same suite with 2 trials each.
CRASH_TRIALS ?= 100
crashtest: minio
	$(GO) test -count=1 -timeout 0 -run 'Test(Kill|Race)' ./cmd/prevoir/crashtest -crash.trials $(CRASH_TRIALS) -crash.report $(CURDIR)/docs/RELIABILITY.md

minio: $(MINIO)

$(MINIO):
	@echo "building MinIO $(MINIO_VERSION) into $(PREVOIR_TOOLS) (about 7 minutes, once)"
	mkdir -p $(PREVOIR_TOOLS)
	cd $(PREVOIR_TOOLS) && GOBIN=$(PREVOIR_TOOLS) GOFLAGS=-mod=mod $(GO) install github.com/minio/minio@$(MINIO_VERSION)

# Each fuzz target for $(FUZZTIME); not part of CI.
fuzz:
	bash bench/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin $(STORE)
