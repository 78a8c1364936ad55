# One entry point for setting up, running and checking igautopost on a fresh machine.
# `make run` and `make test` create the virtual environment and install everything first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check audit audit-if-reachable bench docs docs-serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,server,postgres,celery,s3,docs]'
	touch $(STAMP)

install: $(STAMP)

# Runs igautopost on its embedded defaults: the HTTP API and the local scheduler in one
# process, SQLite in the user data directory, and the built-in Graph API emulator. Prints a
# demo user's API token and a curl line that schedules a post. Ctrl-C stops it.
# `make run PORT=8080` listens elsewhere than 8000.
run: install
	$(BIN)/igautopost serve --sandbox --port $(or $(PORT),8000)

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
	@$(MAKE) --no-print-directory audit-if-reachable

# Known vulnerabilities in the installed packages. pip-audit reads PyPI's per-release JSON
# (/pypi/NAME/VERSION/json). Where that cannot be reached (this project's build machine
# reaches only the package index), it would call every package "could not be audited":
# `check` then says in capitals that nothing was audited instead of failing, and
# `make audit` (strict) fails.
AUDIT_PROBE = import urllib.request; urllib.request.urlopen("https://pypi.org/pypi/pip/24.0/json", timeout=10)

audit: install
	$(BIN)/pip-audit --strict --local --skip-editable --progress-spinner off

audit-if-reachable: install
	@if $(BIN)/python -c '$(AUDIT_PROBE)' 2>/dev/null; then \
		$(BIN)/pip-audit --strict --local --skip-editable --progress-spinner off; \
	else \
		echo "pip-audit: NOT AUDITED: PyPI's vulnerability data (per-release JSON) cannot be reached from this machine"; \
	fi

bench: install
	$(BIN)/python benchmarks/schedule_bulk.py

# The documentation site from docs/ into site/, strictly: a broken link, a missing page or
# anchor, or a reference page the code cannot write fails it. Open site/index.html (works
# offline). `make docs-serve` rebuilds it on every change at http://127.0.0.1:8001.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8001

clean:
	rm -rf $(VENV) build site *.egg-info
