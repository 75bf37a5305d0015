# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pyenv provides 3.12.1 (.python-version); fall back to any python3.12 on PATH.
BOOT_PYTHON := $(shell (pyenv which python 2>/dev/null) || command -v python3.12 || echo python3)
OUT ?= results/baseline
# The explorer's browser test drives Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench clean notebooks explorer-screenshot

$(STAMP): pyproject.toml
	@$(BOOT_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is needed (Mesa 3.5); install 3.12.1 with pyenv")'
	$(BOOT_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hourglass run baseline --out $(OUT)

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

test: $(STAMP) $(CHROMIUM)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Execute every notebook in full and save it with its outputs and figures.
notebooks: $(STAMP)
	$(PY) notebooks/build.py --execute

# The README's screenshot of the explorer (baseline, 24 months).
explorer-screenshot: $(STAMP) $(CHROMIUM)
	$(PY) -m analysis.explorer.browser docs/explorer.png

# The full pattern-oriented validation (docs/validation.md); `make test` runs it reduced.
validate: $(STAMP)
	$(VENV)/bin/hourglass validate --filter --out results/validation

bench: $(STAMP)
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
