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

.PHONY: chromium run test lint bench clean notebooks explorer-screenshot validate figures

$(STAMP): pyproject.toml
	@$(BOOT_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is needed (Mesa 3.5); install 3.12.1 with pyenv")'
	$(BOOT_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	# compile the model's kernels into Numba's cache now, not in the first run (30-50 s)
	$(PY) -m simulation.warmup
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hourglass run baseline --out $(OUT)

# Chromium alone, without the ~130 recommended packages (systemd, printing). Without root or
# sudo it is skipped, and the browser tests say so when they skip.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	else echo "make test: no root, so no Chromium: the browser tests will be skipped"; fi

test: $(STAMP) chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Execute every notebook in full and save it with its outputs and figures.
notebooks: $(STAMP)
	$(PY) notebooks/build.py --execute

# The README's screenshot of the explorer (baseline, 24 months).
explorer-screenshot: $(STAMP) chromium
	$(PY) -m hourglass.explorer.browser docs/explorer.png

# The full pattern-oriented validation (docs/validation.md); `make test` runs it reduced.
validate: $(STAMP)
	$(VENV)/bin/hourglass validate --filter --out results/validation

bench: $(STAMP)
	$(PY) benchmarks/throughput.py
	$(PY) benchmarks/sweep.py

# The default calibration (<= 30 min on 2 cores; docs/calibration.md), timed, then shipped as
# the package's posterior (hourglass/posterior/) with its figures in docs/figures. Nothing else
# needs it recomputed: the shipped files are committed. CAL_OUT must be a new or calibration dir.
CAL_OUT ?= results/calibration
.PHONY: calibration
calibration: $(STAMP)
	time $(VENV)/bin/hourglass calibrate --out $(CAL_OUT)
	$(PY) -c "from hourglass.calibration import ship; ship('$(CAL_OUT)', figures='docs/figures')"

# The README's figures (docs/figures): the baseline over 100 initiatives, the same to month 120,
# the default sensitivity analysis (the seed as a factor), then a smaller one over the posterior
# with the assumption groups (about 20 minutes on 2 cores; each analysis resumes if interrupted).
figures: $(STAMP)
	$(VENV)/bin/hourglass run baseline --replicates 100 --out results/readme/baseline
	cp results/readme/baseline/hourglass.png docs/figures/hourglass-baseline.png
	$(VENV)/bin/hourglass run baseline --replicates 100 --counterfactual no_peer_learning \
		--set run.months=120 --at 36 60 120 --out results/readme/horizon
	cp results/readme/horizon/hourglass.png docs/figures/horizon-baseline.png
	$(VENV)/bin/hourglass sensitivity --out results/sensitivity-default
	cp results/sensitivity-default/report/levers_and_assumptions.png \
		docs/figures/sensitivity-default-chance.png
	$(VENV)/bin/hourglass sensitivity --assumptions --samples 64 --replicates 3 \
		--out results/sensitivity-readme
	cp results/sensitivity-readme/report/levers_and_assumptions.png \
		docs/figures/sensitivity-levers-assumptions.png
	cp results/sensitivity-readme/report/uncertainty_shares.png \
		docs/figures/sensitivity-uncertainty-shares.png

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
