# The two commands of the README: `make run` (its demo keys are printed once and
# kept in var/demo-keys.json, mode 0600) and `make test`; `make bench` and
# `make serve` for performance (docs/performance.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000

WORKERS ?= $(shell $(PYTHON) -c 'import os; print(max(2, 2 * (os.cpu_count() or 1)))')

.PHONY: run serve test test-fast soak bench mutation lint install clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ecny db upgrade
	$(BIN)/ecny seed demo --keys-file var/demo-keys.json
	$(BIN)/ecny serve --host $(HOST) --port $(PORT) --dispatch

# The production server (gunicorn) on the configured database, migrated first;
# WORKERS defaults to 2 per core. Webhooks need `ecny events dispatch` beside it
# (docs/events.md); `make run` delivers them from a thread of its server.
serve: $(STAMP)
	$(BIN)/ecny db upgrade
	$(BIN)/ecny serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

# Benchmarks, not part of `make test`: a table, and bench/results.json.
# ECNY_BENCH_SCALE=0.1 for a quick run; BENCH_ARGS='--only core,audit' for some.
bench: $(VENV)/.bench-stamp
	$(BIN)/python -m bench.run $(BENCH_ARGS)

$(VENV)/.bench-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

# Mutation testing of the money rules, not part of `make test` (docs/testing.md):
# a table, and mutation/results.json. MUTATION_MODULES=money,limits for some,
# MUTATION_SAMPLE=50 for a quick run.
mutation: $(VENV)/.mutation-stamp
	$(BIN)/python -m mutation

$(VENV)/.mutation-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	touch $@

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Longer random walks and schema fuzzing (set ECNY_TEST_POSTGRES_URL for PostgreSQL too).
soak: $(STAMP)
	ECNY_SOAK=1 ECNY_FUZZ_EXAMPLES=$${ECNY_FUZZ_EXAMPLES:-20} $(BIN)/python -m pytest -n 2 \
		tests/api/test_api_state_machine.py tests/api/test_schema_fuzz.py $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -x $(PYTEST_ARGS)

# ruff, then the import contracts of setup.cfg (docs/architecture.md), then
# mypy (the [mypy] section of setup.cfg).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info test-artifacts mutants mutation/.work
