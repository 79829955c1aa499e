# Nudge: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
# the app's links follow them in development (PUBLIC_BASE_URL unless set)
export HOST PORT

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint format bench demo migrate migration clean frontend charts lock install-locked production

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

run: demo ## Install, migrate, load the demo and serve at http://127.0.0.1:5000 (make run PORT=5101)
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
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (the HTTP load generator bench_replies drives)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || echo "could not install wrk: bench_replies will say so"; }
	$(BIN)/python -m benchmarks

LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" --quiet
lock: install ## Re-pin every dependency with hashes: requirements.lock (the image), requirements-dev.lock (CI)
	$(LOCK) -o requirements.lock
	$(LOCK) --extra test -o requirements-dev.lock

install-locked: | $(BIN)/python ## Install exactly the pinned, hash-checked versions in requirements-dev.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(VENV)/.installed

production: ## Start the production shape on this host: migrate, then gunicorn and the scheduler (deploy/)
	PATH=$(CURDIR)/$(BIN):$$PATH deploy/bin/nudge release
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f deploy/Procfile.production

migration: install ## Autogenerate a migration from the models: make migration m="what changed"
	rm -f /tmp/nudge-migration.sqlite3
	NUDGE_DATABASE_URL=sqlite:////tmp/nudge-migration.sqlite3 $(BIN)/alembic upgrade head
	NUDGE_DATABASE_URL=sqlite:////tmp/nudge-migration.sqlite3 $(BIN)/alembic revision --autogenerate -m "$(m)"

NHSUK_FRONTEND_VERSION ?= 10.6.1
frontend: install ## Refresh the vendored NHS.UK frontend in app/static/nhsuk/ from npm (NHSUK_FRONTEND_VERSION=x.y.z)
	rm -rf /tmp/nudge-nhsuk && mkdir -p /tmp/nudge-nhsuk
	cd /tmp/nudge-nhsuk && npm pack --silent nhsuk-frontend@$(NHSUK_FRONTEND_VERSION) && tar xzf nhsuk-frontend-*.tgz
	$(BIN)/python scripts/vendor_nhsuk.py /tmp/nudge-nhsuk/package

CHARTJS_VERSION ?= 4.6.1
ERRORBARS_VERSION ?= 4.4.5
CHARTS_DIR := app/static/vendor/chartjs
charts: ## Refresh the vendored Chart.js and chartjs-chart-error-bars in app/static/vendor/chartjs/ from npm
	rm -rf /tmp/nudge-charts && mkdir -p /tmp/nudge-charts/cj /tmp/nudge-charts/eb $(CHARTS_DIR)
	cd /tmp/nudge-charts && npm pack --silent chart.js@$(CHARTJS_VERSION) chartjs-chart-error-bars@$(ERRORBARS_VERSION)
	tar xzf /tmp/nudge-charts/chart.js-$(CHARTJS_VERSION).tgz -C /tmp/nudge-charts/cj
	tar xzf /tmp/nudge-charts/chartjs-chart-error-bars-$(ERRORBARS_VERSION).tgz -C /tmp/nudge-charts/eb
	cp /tmp/nudge-charts/cj/package/dist/chart.umd.min.js $(CHARTS_DIR)/chart.umd.min.js
	cp /tmp/nudge-charts/cj/package/LICENSE.md $(CHARTS_DIR)/LICENSE-chart.js.md
	cp /tmp/nudge-charts/eb/package/build/index.umd.min.js $(CHARTS_DIR)/chartjs-chart-error-bars.umd.min.js
	cp /tmp/nudge-charts/eb/package/LICENSE $(CHARTS_DIR)/LICENSE-chartjs-chart-error-bars
	printf 'chart.js %s (npm, dist/chart.umd.min.js, MIT)\nchartjs-chart-error-bars %s (npm, build/index.umd.min.js, MIT; by sgratzl)\nrefresh with `make charts CHARTJS_VERSION=x.y.z ERRORBARS_VERSION=x.y.z`\n' $(CHARTJS_VERSION) $(ERRORBARS_VERSION) > $(CHARTS_DIR)/VERSION

clean: ## Remove the virtualenv, caches and the local database
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis instance/nudge.sqlite3*
