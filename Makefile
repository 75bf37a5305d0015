# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pyenv provides 3.12.1 (.python-version); fall back to any python3.12 on PATH.
BOOT_PYTHON := $(shell (pyenv which python 2>/dev/null) || command -v python3.12 || echo python3)
OUT ?= results/baseline

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(BOOT_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is needed (Mesa 3.5); install 3.12.1 with pyenv")'
	$(BOOT_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hourglass run baseline --out $(OUT)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
