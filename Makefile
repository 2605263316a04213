# driftwatch — see README.md. `make test` and `make demo` work on a fresh clone.

GO        ?= go
VENV      ?= .venv
PY        ?= python3
GOFLAGS_LAMBDA = -tags lambda.norpc -trimpath -ldflags="-s -w"
FUNCTIONS = aws-detector

export MOTO_SERVER := $(abspath $(VENV))/bin/moto_server

.PHONY: all build test unit lint vet fmt-check cfn-lint generate demo bench venv clean \
	build-DetectorFunction

all: build

## venv: the Python tools tests need (moto server, cfn-lint), once.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

## build: every Lambda function as an arm64 bootstrap binary under bin/<name>/.
build:
	@for f in $(FUNCTIONS); do \
		echo "build $$f"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	$(GO) build -o bin/driftwatch ./cmd/driftwatch

## build-<LogicalId>: called by `sam build` (BuildMethod: makefile).
build-DetectorFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/aws-detector
	if [ -f driftwatch.yaml ]; then cp driftwatch.yaml $(ARTIFACTS_DIR)/driftwatch.yaml; fi

## test: every test — unit, moto integration, generated-file freshness, lint.
test: venv fmt-check vet cfn-lint
	$(GO) test -count=1 ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.venv/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

cfn-lint: venv
	$(VENV)/bin/cfn-lint template.yaml

lint: fmt-check vet cfn-lint

## generate: template.yaml watch rules (from the catalog) and docs/rules.md (from the rules).
generate:
	$(GO) run ./internal/generate

## demo: start moto, make risky changes, show what driftwatch says.
demo: venv
	$(GO) run ./cmd/driftwatch demo

## bench: run the benchmarks and write docs/benchmarks.md.
bench:
	$(GO) run ./internal/benchreport -o docs/benchmarks.md

clean:
	rm -rf bin .aws-sam
