# Quick start: `make train` and `make test`. Both create .venv when it is missing and install the
# package into it (editable, with the test extras); the install is redone when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.mmfusion-installed
ARGS   ?=

.PHONY: install train test lint format clean-venv

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

clean-venv:
	rm -rf $(VENV)

# The documentation site (mkdocs.yml, docs/): --strict fails on any warning, a broken link or anchor included.
.PHONY: docs
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
test: docs
