# War Room: the two commands a new machine needs are `make dev` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
SAM_VENV ?= .venv-sam
BIN := $(VENV)/bin
PORT ?= 3000
BUILD_DIR ?= .aws-sam/build

.PHONY: install dev test lint bench build deploy clean

# The venv is rebuilt when pyproject.toml changes (the stamp records the last install).
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## Run the whole system locally (PostgreSQL, Redis and AWS emulated; no Docker, no AWS account).
dev: install
	$(BIN)/warroom dev --port $(PORT)

## Install everything and run the test suite (unit, integration, end-to-end; one worker per core, at most 4, each
## with its own PostgreSQL, Redis, moto and local cloud), then the LocalStack lane.
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --numprocesses=auto --maxprocesses=4
	$(MAKE) test-localstack

.PHONY: test-localstack
## The AWS-touching tests and one `warroom dev --aws localstack` pass against LocalStack 4.9.2 (not in `make test`).
# LocalStack is installed once per machine into its own venv ($$WARROOM_LOCALSTACK_VENV or ~/.cache/warroom/).
test-localstack: install
	$(BIN)/python -m localcloud.localstack install
	$(BIN)/python -m pytest tests/localstack

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

## Fuzz the API: schemathesis against a fresh `warroom dev` on FUZZ_PORT, checking every answer against the
## OpenAPI document (status codes, content types, response schemas, no 5xx). Not part of `make test`.
FUZZ_PORT ?= 3997
FUZZ_EXAMPLES ?= 30
.PHONY: fuzz
fuzz: install
	$(BIN)/python tests/fuzz/fuzz_api.py --port $(FUZZ_PORT) --max-examples $(FUZZ_EXAMPLES)

## Benchmarks: ratios against a baseline measured in the same run (not part of `make test`).
bench: install
	$(BIN)/python -m pytest tests/perf -s -p no:randomly -o addopts="" -q

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check aws-sam-cli

## Build for AWS with `sam build` (no container needed); the layer is built by layers/Makefile.
# sam runs layers/Makefile in a scratch copy of layers/, so it is told where the functions are (for openapi.json).
build: install $(SAM_VENV)/bin/sam
	PATH="$(CURDIR)/$(BIN):$$PATH" WARROOM_FUNCTIONS_DIR="$(CURDIR)/functions" SAM_CLI_TELEMETRY=0 \
		$(SAM_VENV)/bin/sam build --template-file template.yaml \
		--build-dir $(BUILD_DIR) --parameter-overrides DefaultDataMode=MOCK

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --template-file $(BUILD_DIR)/template.yaml --guided

clean:
	rm -rf .aws-sam .warroom .pytest_cache .ruff_cache
