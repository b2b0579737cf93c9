# Quick start: `make train` and `make test`. Both create .venv when it is missing and install the
# package into it (editable, with the test extras); the install is redone when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.mmfusion-installed
ARGS   ?=

.PHONY: install train test test-fast lint format clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# venvs made before mmfusion depended on `tensorflow`: drop tensorflow-cpu first (both own tensorflow/)
	if $(BIN)/python -m pip show --quiet tensorflow-cpu 2>/dev/null; then $(BIN)/python -m pip uninstall --quiet -y tensorflow-cpu tensorflow; fi
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

train: install
	$(BIN)/mmfusion train $(ARGS)

# The architecture's habits first (seconds), then the test suite.
lint: install
	$(BIN)/ruff check mmfusion tests scripts
	$(BIN)/ruff format --check mmfusion tests scripts
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix mmfusion tests scripts
	$(BIN)/ruff format mmfusion tests scripts

test: lint
	$(BIN)/python -m pytest -q -rs

# The fast lane (docs/testing.md): lint, then every test not marked e2e (no CLI subprocess, no training).
test-fast: lint
	$(BIN)/python -m pytest -q -rs -m "not e2e"

clean-venv:
	rm -rf $(VENV)
