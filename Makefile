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

.PHONY: help setup demo test lint typecheck pytest bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

KERNEL := hub/linkage/_pprl_kernel.so
# POPCNT is in every x86-64 CPU since 2008; elsewhere the compiler's portable popcount.
KERNEL_FLAGS := -O3 -shared -fPIC -Wall -Wextra $(if $(filter x86_64,$(shell uname -m)),-mpopcnt,)

setup: $(KERNEL) | $(UV)  ## install everything into .venv from uv.lock
	$(UV) sync --frozen --quiet

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

pytest: setup  ## the test suite (also on PostgreSQL when PPRL_TEST_DATABASE_URL is set)
	$(BIN)/pytest

bench: setup  ## benchmarks, printing rates and ratios against references
	$(BIN)/python -m benchmarks

clean:  ## remove the environment and caches
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache $(KERNEL)
