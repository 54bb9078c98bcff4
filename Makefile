# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint bench serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)  ## load the demo marketplace into ./var (SQLite) and serve API + portal on :8000
	$(BIN)/chengxin demo

serve: $(STAMP)
	$(BIN)/chengxin serve

lint: $(STAMP)  ## ruff and mypy (strict on domain/)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# Test processes: one per core (pytest-xdist). Each test makes its own store (a SQLite file, a PostgreSQL
# database from a template) and its own NATS stream, so they share nothing. TEST_WORKERS=0 runs in this process.
# At most 8: each holds PostgreSQL connections, and the server allows 100 by default.
TEST_WORKERS ?= auto

test: lint  ## the whole suite; storage tests also on PostgreSQL when CHENGXIN_TEST_DATABASE_URL is set
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --maxprocesses=8

bench: $(STAMP)  ## every benchmark in bench/, results in docs/benchmarks.md
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
