# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo up up-prod test lint lock clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## start the embedded stack, run the scripted cancellations, stop
	$(BIN)/offboard demo

up: $(STAMP)  ## run the embedded stack until Ctrl-C
	$(BIN)/offboard up

up-prod: $(STAMP)  ## the production topology here: PostgreSQL, Redis, a process work pool, 2 workers
	$(BIN)/offboard up --production --state-dir .state/production

test: $(STAMP)  ## lint and import contracts, then every test (unit, SQLite + PostgreSQL, S3, Prefect)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

lock:  ## re-resolve the pins from pyproject.toml into constraints.txt
	rm -rf /tmp/offboarding-lock && $(PYTHON) -m venv /tmp/offboarding-lock
	/tmp/offboarding-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/offboarding-lock/bin/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .state
