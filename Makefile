# Two commands do everything: `make run` and `make test`. Both create .venv when missing.
#
# `make run` installs only what the service needs (requirements/service.txt); `make test`
# adds the test and lint tools and the optional features (requirements/dev.txt). Both lock
# files pin every package, the indirect ones too, with hashes, so a fresh machine gets the
# same versions; uv (itself pinned in requirements/uv.txt) installs them. `make lock`
# writes the lock files anew after pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_INSTALL := $(UV) pip install --quiet --compile-bytecode --python $(BIN)/python
SERVICE := $(VENV)/.service-installed
DEV := $(VENV)/.dev-installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?=
# pytest-xdist workers for `make test` (2 cores here); XDIST=0 runs in one process.
XDIST ?= 2

.PHONY: run test bench soak lint typecheck lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(UV): requirements/uv.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements/uv.txt
	touch $(UV)

$(SERVICE): pyproject.toml requirements/service.txt | $(UV)
	$(UV_INSTALL) --require-hashes -r requirements/service.txt
	$(UV_INSTALL) --no-deps -e .
	touch $(SERVICE)

$(DEV): pyproject.toml requirements/dev.txt | $(UV)
	$(UV_INSTALL) --require-hashes -r requirements/dev.txt
	$(UV_INSTALL) --no-deps -e .
	touch $(SERVICE) $(DEV)

run: $(SERVICE)
	mkdir -p data
	@if [ "$(DEMO)" = "1" ]; then $(BIN)/hatchery demo; fi
	$(BIN)/hatchery serve --host $(HOST) --port $(PORT) $(if $(WORKERS),--workers $(WORKERS))

test: $(DEV)
	$(BIN)/python -m pytest $(if $(filter-out 0,$(XDIST)),-n $(XDIST))

bench: $(DEV)
	QUICK=$(QUICK) $(BIN)/python -m bench

# The long load and fault test: thousands of starts and fires through three API processes
# on PostgreSQL (and one on SQLite), one killed half-way (tests/scale/test_load_faults.py);
# then the stateful property test of the service with many more steps.
soak: $(DEV)
	HATCHERY_SOAK=1 CI=1 $(BIN)/python -m pytest -q -m load tests/scale
	HATCHERY_SOAK=1 CI=1 $(BIN)/python -m pytest -q tests/test_stateful_history.py

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/mypy

lock: | $(UV)
	$(UV) pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-header \
		--quiet -o requirements/service.txt
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--no-header --quiet -o requirements/dev.txt

clean:
	rm -rf $(VENV)
