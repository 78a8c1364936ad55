# One entry point for setting up, running and checking igautopost on a fresh machine.
# `make run` and `make test` create the virtual environment and install everything first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check audit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,server,postgres,celery]'
	touch $(STAMP)

install: $(STAMP)

# Runs igautopost on its embedded defaults: the HTTP API and the local scheduler in one
# process, SQLite in the user data directory, and the built-in Graph API emulator. Prints a
# demo user's API token and a curl line that schedules a post. Ctrl-C stops it.
run: install
	$(BIN)/igautopost serve --sandbox

# Two workers for the tests that can run side by side, then the Celery ones (they share Redis
# and one restarts PostgreSQL) one after another.
test: install
	$(BIN)/pytest -n 2 --dist loadfile -m "not services"
	$(BIN)/pytest -m services

check: install
	$(BIN)/ruff check src cli tests benchmarks examples
	$(BIN)/ruff format --check src cli tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

# Known vulnerabilities in the installed packages. Not part of `check`: it needs PyPI's
# vulnerability data (pypi.org's JSON API), which some build machines cannot reach; --strict
# makes it fail there instead of reporting "no known vulnerabilities" for packages it skipped.
audit: install
	$(BIN)/pip-audit --strict --local --skip-editable --progress-spinner off

bench: install
	$(BIN)/python benchmarks/schedule_bulk.py

clean:
	rm -rf $(VENV) build *.egg-info
