# driftwatch — see README.md. `make test` and `make demo` work on a fresh clone.

GO        ?= go
VENV      ?= .venv
PY        ?= python3
GOFLAGS_LAMBDA = -tags lambda.norpc -trimpath -ldflags="-s -w"
FUNCTIONS = aws-detector aws-sweeper aws-slack-actions

export MOTO_SERVER := $(abspath $(VENV))/bin/moto_server

.PHONY: all build test unit lint vet fmt-check cfn-lint generate demo bench venv clean \
	build-DetectorFunction build-SweeperFunction build-SlackActionsFunction

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
build-SweeperFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/aws-sweeper
	if [ -f driftwatch.yaml ]; then cp driftwatch.yaml $(ARTIFACTS_DIR)/driftwatch.yaml; fi
build-SlackActionsFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/aws-slack-actions
	if [ -f driftwatch.yaml ]; then cp driftwatch.yaml $(ARTIFACTS_DIR)/driftwatch.yaml; fi

## test: every test — unit, moto integration, generated-file freshness, lint.
test: venv azurite fmt-check vet cfn-lint sam-validate sam-build
	$(GO) test -count=1 ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.venv/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

cfn-lint: venv
	$(VENV)/bin/cfn-lint template.yaml

lint: fmt-check vet cfn-lint sam-validate checkov

## generate: template.yaml watch rules (from the catalog) and docs/rules.md (from the rules).
generate:
	$(GO) run ./internal/generate

## demo: start moto, make risky changes, show what driftwatch says.
demo: venv
	$(GO) run ./cmd/driftwatch demo

## bench: run the benchmarks and write docs/benchmarks.md (about 10 minutes).
## Cloud Custodian, for the cold-start comparison, lives in its own venv
## (installed on first use; the install time is kept for the report).
C7N_VENV ?= $(VENV)/c7n
bench: venv $(C7N_VENV)/.installed
	$(GO) run ./internal/benchreport -o docs/benchmarks.md -count 3 -c7n-venv $(C7N_VENV)
$(C7N_VENV)/.installed: internal/benchreport/c7n/requirements.txt
	rm -rf $(C7N_VENV)
	@start=$$(date +%s%N); \
	$(PY) -m venv $(C7N_VENV) && \
	$(C7N_VENV)/bin/pip install --quiet -r internal/benchreport/c7n/requirements.txt || exit 1; \
	echo $$(( ($$(date +%s%N) - start) / 1000000 )) > $(C7N_VENV)/install-ms
	touch $@

clean:
	rm -rf bin .aws-sam

## azurite: the Azure Storage emulator the table store tests start
## (internal/azuritetest), installed into node_modules at the version
## package-lock.json pins.
.PHONY: azurite
azurite: node_modules/.bin/azurite
node_modules/.bin/azurite: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## checkov: static security checks of the Bicep deployment (deploy/azure) and
## the SAM template; each skip has its reason (inline in deploy/azure, listed
## in .checkov.yaml). checkov lives in its own venv: its pins (boto3) clash
## with moto's.
CHECKOV_VENV ?= $(VENV)/checkov
.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -d deploy/azure
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f template.yaml
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

## azure-package: the Azure detector (functions/azure-detector, a custom
## handler) built for linux/amd64 and zipped with host.json and its function
## folders, the handler keeping its executable bit: bin/azure-detector.zip.
AZ_FUNCTION_DIR = functions/azure-detector
AZ_PACKAGE      = bin/azure-detector.zip
.PHONY: azure-package
azure-package:
	@test -f $(AZ_FUNCTION_DIR)/host.json || { echo "azure-package: no $(AZ_FUNCTION_DIR)/host.json"; exit 1; }
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o bin/azure-detector/handler ./$(AZ_FUNCTION_DIR)
	$(GO) run ./internal/azpackage -dir $(AZ_FUNCTION_DIR) -handler bin/azure-detector/handler -o $(AZ_PACKAGE)

## azure-deploy: deploy to the current Azure CLI subscription (az login; az
## account set -s SUB) in three steps, since Event Grid refuses a
## subscription to a function whose code is not there yet: the
## infrastructure (deploy/azure/main.bicep), the package (zip deploy), then
## the event subscriptions. docs/azure.md explains the parameters; pass
## more, or a parameters file holding the secrets, as
## AZ_PARAMS='@driftwatch.parameters.json autoRevert=on'.
AZ          ?= az
AZ_LOCATION ?= westeurope
AZ_NAME     ?= driftwatch
AZ_PARAMS   ?=
AZ_DEPLOY    = $(AZ) deployment sub create --location $(AZ_LOCATION) --template-file deploy/azure/main.bicep \
	--parameters name=$(AZ_NAME) $(AZ_PARAMS)
.PHONY: azure-deploy
azure-deploy: azure-package
	$(AZ_DEPLOY) --parameters subscribeEvents=false --name $(AZ_NAME)-infra
	rg=$$($(AZ) deployment sub show --name $(AZ_NAME)-infra --query properties.outputs.resourceGroupName.value -o tsv) && \
	app=$$($(AZ) deployment sub show --name $(AZ_NAME)-infra --query properties.outputs.functionAppName.value -o tsv) && \
	$(AZ) functionapp deployment source config-zip --resource-group "$$rg" --name "$$app" --src $(AZ_PACKAGE)
	$(AZ_DEPLOY) --parameters subscribeEvents=true --name $(AZ_NAME)-events

## fuzz: run every fuzz target of the decoders and request handlers for
## FUZZTIME each, one after the other (`go test` alone runs their seeds, as
## CI does). A failure stops the run; its input is written to the
## package's testdata/fuzz/<Target>/, which keeps it as a seed: fix the
## code, keep the file.
FUZZTIME    ?= 30s
FUZZMINTIME ?= 5s
FUZZ_PKGS   ?= ./shared/change ./shared/ingest/eventgrid ./shared/interact ./shared/lambdahandler
.PHONY: fuzz
fuzz:
	@for pkg in $(FUZZ_PKGS); do \
		targets=$$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz') || exit 1; \
		for t in $$targets; do \
			echo "fuzz $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; \
		done; \
	done

## sam-validate, sam-build: the SAM CLI's own checks of template.yaml, and
## the build through BuildMethod: makefile (no Docker), which must give an
## arm64 `bootstrap` per function. SAM lives in its own venv.
SAM_VENV ?= $(VENV)/sam
SAM      ?= $(SAM_VENV)/bin/sam
SAM_REGION ?= us-east-1
.PHONY: sam-validate sam-build package deploy
$(SAM_VENV)/.installed: requirements-sam.txt
	$(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $@
sam-validate: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region $(SAM_REGION)
sam-build: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM) build --build-in-source --build-dir .aws-sam/build
	@for f in .aws-sam/build/*/bootstrap; do \
		m=$$(od -An -tx1 -j18 -N2 "$$f" | tr -d ' \n'); \
		if [ "$$m" != "b700" ]; then echo "$$f is not an arm64 ELF (e_machine $$m)"; exit 1; fi; \
		echo "$$f: arm64 bootstrap"; \
	done

## package, deploy: build and deploy the stack with SAM (first time:
## `make deploy` asks the questions and saves the answers in samconfig.toml).
package: sam-build
deploy: sam-build
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided --template-file .aws-sam/build/template.yaml
