# One entry point for people and CI. Every target installs what it needs first, so on a fresh
# machine (Python 3.11+, Node and npm present, nothing else) `make synth` and `make test` just work.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
NODE_BIN := $(CURDIR)/node_modules/.bin
CDK := $(NODE_BIN)/cdk
STACK ?=
CDK_ARGS ?=

# Node 22 from node_modules runs both jsii (the Python <-> JS bridge) and the CDK CLI:
# the machine's Node 20 is end-of-life for jsii. Nothing phones home.
export PATH := $(NODE_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export JSII_NODE := $(NODE_BIN)/node
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install synth guard security-report summary test lint style fmt pytest snapshot-update bench local-api local-chat local-thumbnails local-web local-batch local-cron bootstrap deploy diff destroy list clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt $(wildcard containers/*/requirements.txt)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# checkov pins a boto3 the project cannot use, so it gets a venv of its own.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Create .venv and node_modules (idempotent).

synth: install ## Synthesize every stack into cdk.out and print a summary of each.
	@# No manifest, no summary: a synth that fails before writing cdk.out must not show the last one.
	rm -f cdk.out/manifest.json
	status=0; $(CDK) synth --quiet $(CDK_ARGS) || status=$$?; \
	$(PY) scripts/summary.py cdk.out || true; exit $$status

guard: install ## Synth with the AWS Control Tower rules (cfn-guard) beside cdk-nag (about 2x slower).
	rm -f cdk.out/manifest.json
	status=0; $(CDK) synth --quiet -c policy_engines=all $(CDK_ARGS) || status=$$?; \
	$(PY) scripts/summary.py cdk.out || true; exit $$status

# Every cdk-nag compliance pack (context compliance), as the tests run them.
COMPLIANCE_PACKS = serverless,nist-800-53-r5,nist-800-53-r4,hipaa,pci-dss-321

security-report: install $(CHECKOV_VENV)/.installed ## Regenerate docs/security.md (all engines).
	$(CDK) synth --quiet -c policy_engines=all -c compliance=$(COMPLIANCE_PACKS)
	$(PY) scripts/security_report.py cdk.out docs/security.md

summary: install ## Re-print the summary of the last synth.
	$(PY) scripts/summary.py cdk.out

test: style pytest ## Everything CI runs: ruff, hadolint, then the suite with mypy strict beside it.

lint: style ## ruff (lint and format check), hadolint on every Dockerfile, mypy.
	$(VENV)/bin/mypy

style: install ## ruff (lint and format check) and hadolint on every Dockerfile: seconds.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@dockerfiles=$$(find containers -name Dockerfile 2>/dev/null); \
	if [ -n "$$dockerfiles" ]; then $(VENV)/bin/hadolint $$dockerfiles; fi

fmt: install ## Apply ruff's fixes and formatting.
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# One worker per core, sharing one synth (tests/conftest.py); a module's tests stay on one worker
# so its fixtures are built once. mypy runs in a process of its own beside them (--mypy-beside).
pytest: install $(CHECKOV_VENV)/.installed ## The test suite only, on every core, with mypy strict beside it.
	$(PY) -m pytest -n auto --dist loadscope --mypy-beside

snapshot-update: install ## Rewrite the template snapshots after an intended change (read the diff!).
	$(PY) -m pytest tests/test_snapshots.py --snapshot-update

bench: install ## Benchmarks (figures, not pass/fail): synth cost, cold start, handler throughput.
	$(PY) bench/synth_cost.py
	$(PY) bench/cold_start.py
	$(PY) bench/thumbnails.py
	$(PY) bench/scheduled_job_export.py
	$(PY) bench/websocket_broadcast.py
	$(PY) bench/lambda_bundling.py
	$(PY) bench/batch_compounds.py
	$(PY) bench/local_api.py
	$(PY) bench/test_loop.py

# Local modes: real handler/container code on 127.0.0.1 against moto, wired from cdk.out (synthesized
# first when missing or stale). No Docker, no AWS account. PORT=<n> overrides a server's port.
LOCAL := $(PY) -m local
LOCAL_PORT = $(if $(PORT),--port $(PORT))
local-api: install ## Items API on http://127.0.0.1:3000/v1 (prints its API key).
	$(LOCAL) api $(LOCAL_PORT)

local-chat: install ## Chat on ws://127.0.0.1:3001/v1 (token: .venv/bin/python -m local chat token --user alice).
	$(LOCAL) chat $(LOCAL_PORT)

local-thumbnails: install ## Thumbnails of every image: make local-thumbnails SRC=<folder> OUT=<folder>
	@test -n "$(SRC)" -a -n "$(OUT)" || { echo "usage: make local-thumbnails SRC=<folder> OUT=<folder>"; exit 2; }
	$(LOCAL) thumbnails --src "$(SRC)" --out "$(OUT)"

local-web: install ## Web container app under uvicorn on http://127.0.0.1:8080, with its health check.
	$(LOCAL) web $(LOCAL_PORT)

local-batch: install ## Array job as processes: make local-batch INPUT=<csv> SHARDS=<n> [OUT=<folder>]
	@test -n "$(INPUT)" || { echo "usage: make local-batch INPUT=<csv> SHARDS=<n> [OUT=<folder>]"; exit 2; }
	$(LOCAL) batch --input "$(INPUT)" --shards $(or $(SHARDS),4) $(if $(OUT),--out "$(OUT)")

local-cron: install ## Nightly export once over generated items: make local-cron ITEMS=<n> [OUT=<folder>]
	$(LOCAL) cron --items $(or $(ITEMS),100) $(if $(OUT),--out "$(OUT)")

bootstrap: install ## Prepare an AWS account/region for cdk deploy (once; uses your credentials).
	$(PY) scripts/aws_credentials.py $(CDK_ARGS)
	$(CDK) bootstrap $(CDK_ARGS)

list: install ## List the stacks of the app.
	$(CDK) list

deploy: install ## Deploy one stack: make deploy STACK=ServerlessApi
	@test -n "$(STACK)" || { echo "usage: make deploy STACK=<name> (see make list)"; exit 2; }
	$(PY) scripts/aws_credentials.py $(CDK_ARGS)
	$(CDK) deploy $(STACK) -c stacks=$(STACK) $(CDK_ARGS)

diff: install ## Diff one stack (or all) against the deployed one: make diff STACK=ServerlessApi
	$(PY) scripts/aws_credentials.py $(CDK_ARGS)
	$(CDK) diff $(STACK) $(if $(STACK),-c stacks=$(STACK)) $(CDK_ARGS)

destroy: install ## Destroy one stack: make destroy STACK=ServerlessApi
	@test -n "$(STACK)" || { echo "usage: make destroy STACK=<name>"; exit 2; }
	$(PY) scripts/aws_credentials.py $(CDK_ARGS)
	$(CDK) destroy $(STACK) -c stacks=$(STACK) $(CDK_ARGS)

.PHONY: cost cost-refresh cost-chart
cost: install ## Price every stack from its template, offline: make cost STACK=ServerlessApi COST_ARGS="--profile medium --json"
	$(PY) -m cost $(if $(STACK),--stack $(STACK)) $(COST_ARGS)

cost-refresh: install ## Update cost/prices/*.json from the AWS Price List API (needs AWS credentials).
	$(PY) -m cost.refresh

cost-chart: install ## Redraw docs/cost-*.png and regenerate the cost sections of docs/<pattern>.md.
	$(PY) -m cost --write-docs

clean: ## Remove generated files (keeps .venv and node_modules).
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache

# The replacement guard (changes/, docs/changes.md): what a deploy would replace or delete,
# decided offline from two synths. `make test` runs it against changes/baseline.
.PHONY: diff-offline changes-baseline
diff-offline: install ## Offline, no AWS: what deploying the working tree over BASE replaces or deletes: make diff-offline BASE=<git ref> [TO=<ref>] [STACK=<name>]
	$(PY) -m changes --base $(or $(BASE),HEAD) $(if $(TO),--to $(TO)) $(if $(STACK),--stacks $(STACK)) $(CHANGES_ARGS)

changes-baseline: install ## At a release: rewrite changes/baseline from the working tree, empty changes/acknowledged.json.
	$(PY) -m changes --write-baseline

# Integration tests (integ/): one integ-runner app per major variant of every stack. `make test`
# compares their snapshots offline; these two are for an intended change and for a real account.
.PHONY: integ integ-update
integ: install ## Deploy, assert and destroy a stack's integ tests in your account: make integ STACK=ServerlessApi
	@test -n "$(STACK)" || { echo "usage: make integ STACK=<name> (see make list)"; exit 2; }
	$(PY) scripts/aws_credentials.py $(CDK_ARGS)
	$(PY) -m integ run --stack $(STACK) $(CDK_ARGS)

integ-update: install ## Rewrite the integ snapshots after an intended change, offline (read the diff!): [STACK=<name>]
	$(PY) -m integ update $(if $(STACK),--stack $(STACK))

# Delivery: config/<env>.json environments, the GitHub workflows' checks (README "Deliver it").
.PHONY: deploy-env workflows
deploy-env: install ## Deploy every stack to one environment of config/: make deploy-env ENVIRONMENT=dev
	@test -n "$(ENVIRONMENT)" || { echo "usage: make deploy-env ENVIRONMENT=<name> (a file in config/)"; exit 2; }
	$(PY) scripts/aws_credentials.py $(CDK_ARGS)
	$(CDK) deploy --all -c env=$(ENVIRONMENT) --require-approval never $(CDK_ARGS)

workflows: install ## zizmor (offline) and the GitHub workflow schema over .github/workflows (in make test too).
	$(VENV)/bin/zizmor --offline .github/workflows
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

.PHONY: openapi
openapi: install ## Write docs/openapi/ (items API, web app, chat frames) from the synthesized templates.
	$(PY) -m openapi

.PHONY: diagrams
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
diagrams: install ## Draw docs/diagrams/<Stack>.png from each template (apt-get installs Graphviz if dot is missing).
	@command -v dot >/dev/null || { echo "Graphviz's dot is missing: apt-get install graphviz"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz; }
	$(PY) -m architecture
