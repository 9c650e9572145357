# pprl-hub: `make demo` runs the story on the embedded default; `make test` is what CI runs.
# A fresh machine needs only Python 3.11, gcc, git and make: uv is bootstrapped into
# .tools/ when it is not on PATH, and uv builds .venv/ from the committed uv.lock.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin

# Only PyPI is reachable from CI machines: use the machine's Python, never download one.
export UV_PYTHON_DOWNLOADS ?= never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help setup demo test test-fast lint typecheck pytest bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

KERNEL := hub/linkage/_pprl_kernel.so
HTMX := linkage_node/web/static/vendor/htmx.min.js
SWAGGER := hub/web/static/vendor/swagger-ui/swagger-ui-bundle.js
# POPCNT is in every x86-64 CPU since 2008; elsewhere the compiler's portable popcount.
KERNEL_FLAGS := -O3 -shared -fPIC -Wall -Wextra $(if $(filter x86_64,$(shell uname -m)),-mpopcnt,)

setup: $(KERNEL) $(HTMX) $(SWAGGER) | $(UV)  ## install everything into .venv from uv.lock
	$(UV) sync --frozen --quiet

# htmx for the node's pages, from the npm registry, served by the node itself (no CDN).
# The pages work without it (and without JavaScript at all).
HTMX_VERSION := 2.0.11
$(HTMX):
	@if command -v npm >/dev/null; then \
	  mkdir -p .tools/npm $(dir $(HTMX)); \
	  cd .tools/npm && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null \
	  && tar -xzf htmx.org-$(HTMX_VERSION).tgz package/dist/htmx.min.js \
	  && cp package/dist/htmx.min.js $(CURDIR)/$(HTMX); \
	else \
	  echo "npm not found: the node's pages will be served without htmx" >&2; \
	fi

# Swagger UI for the hub's /docs, served by the hub itself under a strict CSP (no CDN).
SWAGGER_VERSION := 5.32.0
$(SWAGGER):
	@if command -v npm >/dev/null; then \
	  mkdir -p .tools/npm $(dir $(SWAGGER)); \
	  cd .tools/npm && npm pack --silent swagger-ui-dist@$(SWAGGER_VERSION) >/dev/null \
	  && tar -xzf swagger-ui-dist-$(SWAGGER_VERSION).tgz package/swagger-ui-bundle.js package/swagger-ui.css \
	  && cp package/swagger-ui-bundle.js package/swagger-ui.css $(CURDIR)/$(dir $(SWAGGER)); \
	else \
	  echo "npm not found: the hub's /docs will say its assets are missing" >&2; \
	fi

$(KERNEL): hub/linkage/_kernel.c
	$(or $(CC),gcc) $(KERNEL_FLAGS) -o $@ $<

demo: setup  ## run the demo on the embedded default
	$(BIN)/pprl demo

test: lint typecheck pytest  ## everything CI checks

lint: setup  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup  ## mypy --strict on every package
	$(BIN)/mypy

# The browser tests drive Debian's chromium with Playwright (Playwright cannot download
# its own browsers here); the compose file is checked by Debian's docker-compose.
CHROMIUM := /usr/bin/chromium
DOCKER_COMPOSE := /usr/bin/docker-compose
$(CHROMIUM) $(DOCKER_COMPOSE):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q $(notdir $@) >/dev/null 2>&1 \
	  || { apt-get update -q >/dev/null && apt-get install -y -q $(notdir $@) >/dev/null; }; \
	else \
	  echo "the tests need Debian's $(notdir $@): sudo apt-get install $(notdir $@)" >&2; \
	  exit 1; \
	fi

# The sign-in tests start a real OpenID provider: the OpenID-certified oidc-provider from
# the npm registry (tests/oidc/package-lock.json), on the machine's Node.js.
OIDC_PROVIDER := tests/oidc/node_modules/oidc-provider/package.json
$(OIDC_PROVIDER): tests/oidc/package-lock.json
	cd tests/oidc && npm ci --silent --no-audit --no-fund
	touch $@

# Two tiers (markers in pyproject.toml): the fast one (unit and in-process API tests) runs
# under branch coverage with its floor; the rest (e2e, browser, live) runs after it.
FAST := not e2e and not browser and not live
COVERAGE := --cov --cov-report=term

test-fast: setup  ## unit and API tests with branch coverage: the development loop (about 2 min)
	$(BIN)/pytest -m "$(FAST)" $(COVERAGE)

pytest: setup $(CHROMIUM) $(DOCKER_COMPOSE) $(OIDC_PROVIDER)  ## the whole test suite (also on PostgreSQL when PPRL_TEST_DATABASE_URL is set)
	$(BIN)/pytest -m "$(FAST)" $(COVERAGE)
	$(BIN)/pytest -m "not ($(FAST))"

bench: setup  ## benchmarks, printing rates and ratios against references
	$(BIN)/python -m benchmarks

clean:  ## remove the environment and caches
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache .coverage $(KERNEL) $(HTMX) $(dir $(SWAGGER)) tests/oidc/node_modules
