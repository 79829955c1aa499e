# Nudge: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint format bench demo migrate migration clean frontend

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed ## Create .venv and install Nudge with its test extras

migrate: install ## Create or migrate the database the settings name
	$(FLASK) db upgrade

demo: migrate ## Load the synthetic demo practice, patients, slots, campaign and users
	$(FLASK) demo load

run: demo ## Install, migrate, load the demo and serve the app and scheduler at http://127.0.0.1:5000
	HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho start -f Procfile

test: install ## Run the whole test suite (PostgreSQL too when NUDGE_TEST_DATABASE_URL is set)
	$(BIN)/pytest

lint: install ## ruff (lint and format check), mypy on the domain and services, import rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Reformat the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## Run every benchmark and print one table of figures beside their floors
	$(BIN)/python -m benchmarks

migration: install ## Autogenerate a migration from the models: make migration m="what changed"
	rm -f /tmp/nudge-migration.sqlite3
	NUDGE_DATABASE_URL=sqlite:////tmp/nudge-migration.sqlite3 $(BIN)/alembic upgrade head
	NUDGE_DATABASE_URL=sqlite:////tmp/nudge-migration.sqlite3 $(BIN)/alembic revision --autogenerate -m "$(m)"

NHSUK_FRONTEND_VERSION ?= 10.6.1
frontend: install ## Refresh the vendored NHS.UK frontend in app/static/nhsuk/ from npm (NHSUK_FRONTEND_VERSION=x.y.z)
	rm -rf /tmp/nudge-nhsuk && mkdir -p /tmp/nudge-nhsuk
	cd /tmp/nudge-nhsuk && npm pack --silent nhsuk-frontend@$(NHSUK_FRONTEND_VERSION) && tar xzf nhsuk-frontend-*.tgz
	$(BIN)/python scripts/vendor_nhsuk.py /tmp/nudge-nhsuk/package

clean: ## Remove the virtualenv, caches and the local database
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis instance/nudge.sqlite3*
