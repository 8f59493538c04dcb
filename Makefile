# Named commands for people and CI alike. Everything installs into .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STUDENTS ?= 20000
PORT ?= 8000

.PHONY: demo serve test check lint typecheck sdl-check pytest sdl bench bench-http postgres clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## The newcomer's first command: demo data on the embedded SQLite, then serve it.
demo: $(STAMP)
	$(BIN)/eduhub demo --students $(DEMO_STUDENTS) --check-port $(PORT)
	$(BIN)/eduhub serve --port $(PORT)

serve: $(STAMP)
	$(BIN)/eduhub serve --port $(PORT)

## The newcomer's second command (and CI's): lint, type check, tests on SQLite and PostgreSQL.
test: check pytest

check: lint typecheck sdl-check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

sdl-check: $(STAMP)
	$(BIN)/python -c "import sys, schema; sys.exit(0 if schema.SDL_PATH.read_text(encoding='utf-8') == schema.sdl() else 'schema/schema.graphql is stale: run make sdl')"

pytest: $(STAMP) postgres
	$(BIN)/pytest

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start" >&2; exit 1

## Write schema/schema.graphql from the code.
sdl: $(STAMP)
	$(BIN)/eduhub schema export

## Benchmarks against a raw-SQL baseline (loads 1,000,000 students into PostgreSQL once).
bench: $(STAMP) postgres
	$(BIN)/python -m bench.run

## Throughput over real HTTP (uvicorn workers, autocannon from npm) on the same data set.
bench-http: $(STAMP) postgres
	npm install --silent --prefix bench/node
	$(BIN)/python -m bench.http

clean:
	rm -rf $(VENV) eduhub.db eduhub.db-wal eduhub.db-shm .mypy_cache .ruff_cache .pytest_cache
