# twinstack. `make up` deploys the dev stack on local Docker; `make test` installs everything and runs the checks.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
EXAMPLE ?=
TARGET = $(if $(EXAMPLE),$(EXAMPLE),$(STACK))
# A local file state backend and a passphrase secrets provider unless you have chosen your own (see
# docs/environments.md). The passphrase only guards this machine's dev secrets; teams use S3/Pulumi Cloud and awskms.
PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
export PULUMI_BACKEND_URL
ifeq ($(origin PULUMI_CONFIG_PASSPHRASE_FILE),undefined)
PULUMI_CONFIG_PASSPHRASE ?= twinstack-local-dev
export PULUMI_CONFIG_PASSPHRASE
endif
# The Pulumi CLI: a pinned one in .cache/pulumi/<version>/, installed by preflight when none is found (tools/cli.py).
PULUMI = $(PY) -m tools.cli --non-interactive

.PHONY: install lint test bench integration check up preview destroy backup restore clean-volumes plan

# Each package pip collects is shown on its own line: the first run takes a minute or two.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "installing the pinned Python packages of requirements-dev.txt into $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@set -o pipefail; $(PY) -m pip install --progress-bar off -r requirements-dev.txt \
	  | awk '/^Collecting / {print "  pip: " $$2; fflush()}'
	@touch $@

# Mermaid's own parser (under jsdom) checks the generated architecture diagrams.
MERMAID := .cache/mermaid/node_modules/mermaid
$(MERMAID):
	@command -v npm >/dev/null && echo "installing Mermaid's parser (npm) into .cache/mermaid for the diagram check" \
	  && npm install --silent --no-audit --no-fund --prefix .cache/mermaid \
	  mermaid@11.12.1 jsdom@24.1.3 || echo "npm missing or failed: the Mermaid parser test will be skipped and say so"

# Debian's nginx checks the generated proxy configs with a real `nginx -t`; Checkov, pinned, in its own venv
# (.cache/checkov) checks the production AWS graphs as Terraform plans, offline.
install: $(VENV)/.installed $(MERMAID)
	@command -v nginx >/dev/null || command -v /usr/sbin/nginx >/dev/null || { \
	  echo "installing Debian's nginx-light for the proxy config check (nginx -t)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) \
	  || echo "could not install nginx: the nginx -t tests will be skipped and say so"; }
	@PYTHON=$(PYTHON) bash scripts/install-checkov.sh \
	  || echo "could not install Checkov: tests/test_checkov.py will be skipped and say why"

lint: install
	$(VENV)/bin/ruff check .

# -rs: every skipped test says why
test: lint
	$(VENV)/bin/pytest -n 2 -rs tests

# Program evaluation time and resource counts (pytest-benchmark); numbers in the README come from here.
bench: install
	$(VENV)/bin/pytest -p no:xdist -m benchmark --benchmark-enable --benchmark-columns=min,mean,max tests

# Automation API: up the dev stack on Docker, check health, destroy. Needs the Pulumi CLI and a Docker daemon.
integration: install
	$(VENV)/bin/pytest -p no:xdist -m integration -rs tests/test_integration_dev.py

# What `make up` checks first, alone: the Pulumi CLI (installed when missing), Docker or AWS credentials, the config.
check: install
	@$(PY) -m tools.preflight $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))

# Deploy STACK (default dev), or an example: make up EXAMPLE=castiel
up: install
	@$(PY) -m tools.preflight $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))
	@mkdir -p .pulumi-state
	@$(PULUMI) login >/dev/null
	$(PULUMI) stack select $(TARGET) 2>/dev/null || $(PULUMI) stack init $(TARGET)
	$(PULUMI) up --yes --stack $(TARGET)
	@$(PULUMI) stack output --stack $(TARGET) url | sed 's/^/open: /'

preview: install
	@$(PY) -m tools.preflight $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))
	@$(PULUMI) login >/dev/null
	$(PULUMI) preview --stack $(TARGET) $(if $(wildcard policy/PulumiPolicy.yaml),--policy-pack policy)

destroy: install
	@$(PY) -m tools.preflight $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE)) --destroy
	@$(PULUMI) login >/dev/null
	$(PULUMI) destroy --yes --stack $(TARGET)

# Dump / restore the stack's dev database through its running postgres container (backups/<stack>-<time>.sql.gz).
backup:
	scripts/backup.sh $(TARGET)

restore:
	scripts/restore.sh $(TARGET) $(FILE)

# Volumes outlive `pulumi destroy` when protectData is on; this removes them for real.
clean-volumes:
	docker volume ls -q --filter name='^$(TARGET)-' | xargs -r docker volume rm

# Regenerates docs/architecture-*.md and docs/plan-tables.md for every stack and example, then prints STACK's plan.
# With AGAINST=<git ref>: only what the working copy's change costs against that revision (docs/plan.md).
# BACKEND=aws prices a docker stack on AWS (sizes Fargate lacks move to the nearest one, with a warning).
plan: install
	$(if $(AGAINST),,$(PY) -m tools.plan --all >/dev/null)
	$(PY) -m tools.plan $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE)) $(if $(AGAINST),--against $(AGAINST)) \
	  $(if $(BACKEND),--backend $(BACKEND))

# Operating a stack, the same on docker and AWS (docs/operations.md); what to reach comes from the stack's
# `operations` output. make logs [SERVICE=a,b] [SINCE=15m] [FOLLOW=1] | shell SERVICE=… | exec SERVICE=… CMD="…" |
# run SERVICE=… CMD="…" (CMD reaches tools/ops.py through the environment, so its quotes survive).
.PHONY: logs shell exec run
OPS = $(PY) -m tools.ops
logs: $(VENV)/.installed
	@$(OPS) logs $(TARGET) $(if $(SERVICE),--service $(SERVICE)) --since $(or $(SINCE),15m) $(if $(FOLLOW),--follow)

shell: $(VENV)/.installed
	@$(OPS) shell $(TARGET) $(if $(SERVICE),--service $(SERVICE))

exec: $(VENV)/.installed
	@$(OPS) exec $(TARGET) $(if $(SERVICE),--service $(SERVICE))

run: $(VENV)/.installed
	@$(OPS) run $(TARGET) $(if $(SERVICE),--service $(SERVICE))

# The AWS acceptance property (tests/test_aws_acceptance_fuzz.py) over 300 random configs instead of make test's 15;
# TWINSTACK_FUZZ_EXAMPLES=1000 for more.
.PHONY: fuzz
fuzz: install
	TWINSTACK_FUZZ=1 $(VENV)/bin/pytest -p no:xdist -q -rs tests/test_aws_acceptance_fuzz.py

# A Compose project as a stack file: make import COMPOSE=path/to/compose.yaml NAME=shop [FORCE=1] (docs/compose.md)
.PHONY: import
import: $(VENV)/.installed
	@$(PY) -m tools.compose $(COMPOSE) $(NAME) $(if $(FORCE),--force)
