# Quick start: `make train` and `make test`. Both create .venv when it is missing and install the
# package into it (editable, with EXTRAS: the test tools, the Optuna search and MLflow); the install is
# redone when pyproject.toml changes. MiniRocket's aeon needs older numpy / pandas than the rest, so
# its tests run in a second venv, .venv-aeon (`make install-aeon`, `make test-aeon`).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.mmfusion-installed
EXTRAS ?= dev,tune,mlflow
AEON_VENV  ?= .venv-aeon
AEON_STAMP  = $(AEON_VENV)/.mmfusion-installed
ARGS   ?=
# pytest workers (pytest-xdist; each test file stays on one worker, so its module fixtures are built once)
WORKERS ?= 2
PYTEST  = $(BIN)/python -m pytest -q -rs -n $(WORKERS) --dist loadfile

.PHONY: install install-aeon train test test-aeon test-fast lint format clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# venvs made before mmfusion depended on `tensorflow`: drop tensorflow-cpu first (both own tensorflow/)
	if $(BIN)/python -m pip show --quiet tensorflow-cpu 2>/dev/null; then $(BIN)/python -m pip uninstall --quiet -y tensorflow-cpu tensorflow; fi
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install-aeon: $(AEON_STAMP)

$(AEON_STAMP): pyproject.toml
	test -x $(AEON_VENV)/bin/python || $(PYTHON) -m venv $(AEON_VENV)
	$(AEON_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AEON_VENV)/bin/python -m pip install --quiet -e ".[dev,minirocket]"
	touch $(AEON_STAMP)

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

# The tests marked `aeon` (MiniRocket) in .venv-aeon, where aeon must import (no silent skip).
test-aeon: install-aeon
	$(AEON_VENV)/bin/python -c "import aeon"
	$(AEON_VENV)/bin/python -m pytest -q -rs -m aeon

test: lint test-aeon
	$(PYTEST) -m "not aeon"

# The fast lane (docs/testing.md): lint, then every test not marked e2e (no CLI subprocess, no training).
test-fast: lint
	$(PYTEST) -m "not e2e and not aeon"

clean-venv:
	rm -rf $(VENV) $(AEON_VENV)

# The documentation site (mkdocs.yml, docs/): --strict fails on any warning, a broken link or anchor included.
.PHONY: docs
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
test: docs
