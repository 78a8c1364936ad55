# One entry point for setting up, running and checking igautopost on a fresh machine.
# `make run` and `make test` create the virtual environment and install everything first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,server,postgres,celery]'
	touch $(STAMP)

install: $(STAMP)

# Runs igautopost on its embedded defaults: SQLite in the user data directory, the local
# scheduler, and the built-in Graph API emulator (with demo posts due in the next minute).
# Ctrl-C stops it.
run: install
	$(BIN)/igautopost worker --sandbox --demo

test: install
	$(BIN)/pytest

check: install
	$(BIN)/ruff check src cli tests benchmarks examples
	$(BIN)/ruff format --check src cli tests benchmarks examples
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/schedule_bulk.py

clean:
	rm -rf $(VENV) build *.egg-info
