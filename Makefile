# twinstack — `make up` deploys the dev stack on local Docker; `make test` installs everything and runs the checks.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
EXAMPLE ?=
# A local file state backend and a passphrase secrets provider unless the user has chosen their own.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
export PULUMI_CONFIG_PASSPHRASE ?= twinstack-local-dev

.PHONY: test install lint up preview destroy backup restore clean-volumes plan bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
	@command -v nginx >/dev/null || { echo "installing Debian's nginx for the proxy config check (nginx -t)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) \
	  || echo "could not install nginx: the nginx -t tests will be skipped with that reason"; }

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest -n 2 tests

bench: install
	$(VENV)/bin/pytest tests -m benchmark --benchmark-enable -p no:xdist

up: install
	@$(PY) -m tools.preflight $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))
	@stack=$$($(PY) -m tools.preflight --stack-name $(STACK) $(if $(EXAMPLE),--example $(EXAMPLE))); \
	  pulumi login --non-interactive >/dev/null && \
	  (pulumi stack select $$stack 2>/dev/null || pulumi stack init $$stack) && \
	  pulumi up --yes --stack $$stack
