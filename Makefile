# Two entry points a fresh machine needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit lab-deps bench-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/godseye drill aws-region-outage

# Real HAProxy and PostgreSQL for the live tests, from Debian's packages, installed when missing.
lab-deps:
	bash scripts/install-lab-deps.sh

# The peers of the benchmarks: etcd for Patroni (Patroni itself is pip-installed on first use).
bench-deps: lab-deps
	command -v etcd >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null)

# Side by side with the peers: the twin's speed, HAProxy alone vs godseye, Patroni vs godseye, probe capacity.
bench: $(STAMP) bench-deps
	$(BIN)/godseye bench
	$(BIN)/python benchmarks/edge_peer.py
	$(BIN)/python benchmarks/probe_capacity.py
	$(BIN)/python benchmarks/pg_peer.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -m "not live"

test: $(STAMP) lab-deps lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
