# twinstack. `make up` deploys the dev stack on local Docker; `make test` installs everything and runs the checks.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
EXAMPLE ?=
TARGET = $(if $(EXAMPLE),$(EXAMPLE),$(STACK))
# A local file state backend and a passphrase secrets provider unless you have chosen your own (see README,
# "Environments"). The passphrase only guards this machine's dev secrets; teams use S3/Pulumi Cloud and awskms.
PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
export PULUMI_BACKEND_URL
ifeq ($(origin PULUMI_CONFIG_PASSPHRASE_FILE),undefined)
PULUMI_CONFIG_PASSPHRASE ?= twinstack-local-dev
export PULUMI_CONFIG_PASSPHRASE
endif
PULUMI = pulumi --non-interactive

.PHONY: install lint test bench integration up preview destroy backup restore clean-volumes plan

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Mermaid's own parser (under jsdom) checks the generated architecture diagrams.
MERMAID := .cache/mermaid/node_modules/mermaid
$(MERMAID):
	@command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix .cache/mermaid \
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

test: lint
	$(VENV)/bin/pytest -n 2 tests

# Program evaluation time and resource counts (pytest-benchmark); numbers in the README come from here.
bench: install
	$(VENV)/bin/pytest -p no:xdist -m benchmark --benchmark-enable --benchmark-columns=min,mean,max tests

# Automation API: up the dev stack on Docker, check health, destroy. Needs the Pulumi CLI and a Docker daemon.
integration: install
	$(VENV)/bin/pytest -p no:xdist -m integration -rs tests/test_integration_dev.py

# Deploy STACK (default dev), or an example: make up EXAMPLE=castiel
up: install
	@$(PY) -m tools.preflight $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))
	@mkdir -p .pulumi-state
	$(PULUMI) login >/dev/null
	$(PULUMI) stack select $(TARGET) 2>/dev/null || $(PULUMI) stack init $(TARGET)
	$(PULUMI) up --yes --stack $(TARGET)
	@$(PULUMI) stack output --stack $(TARGET) url | sed 's/^/open: /'

preview: install
	@$(PY) -m tools.preflight $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))
	$(PULUMI) login >/dev/null
	$(PULUMI) preview --stack $(TARGET) $(if $(wildcard policy/PulumiPolicy.yaml),--policy-pack policy)

destroy: install
	$(PULUMI) login >/dev/null
	$(PULUMI) destroy --yes --stack $(TARGET)

# Dump / restore the stack's dev database through its running postgres container (backups/<stack>-<time>.sql.gz).
backup:
	scripts/backup.sh $(TARGET)

restore:
	scripts/restore.sh $(TARGET) $(FILE)

# Volumes outlive `pulumi destroy` when protectData is on; this removes them for real.
clean-volumes:
	docker volume ls -q --filter name='^$(TARGET)-' | xargs -r docker volume rm

# Regenerates docs/architecture-*.md and docs/plan-readme.md for every stack and example, then prints STACK's plan.
plan: install
	$(PY) -m tools.plan --all >/dev/null
	$(PY) -m tools.plan $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))
