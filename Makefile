# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall only when pyproject.toml changes: keeps reruns fast.
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lab install notebooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/forecasting demo

# One OpenMP thread per test process: on 2 cores, oversubscribed gradient boosting runs
# many times slower (measured: 8.8 s vs 0.4 s for one fit). TEST_WORKERS pytest-xdist
# processes (CI has 2 cores); --dist loadfile keeps a module's tests, its module fixtures and
# a notebook's cells (one kernel) on one worker.
TEST_WORKERS ?= 2
test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Tests over a minute (@pytest.mark.slow; `make test` leaves them out): the installed wheel's whole demo.
.PHONY: test-slow
test-slow: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m slow tests --durations=0

# Opt-in, not part of `make test`: every report on the demo data opened in headless Chromium
# (figures and tables present, screenshots in reports/browser/). Installs Debian's chromium
# the first time (needs root; a few minutes).
.PHONY: test-browser
test-browser: $(STAMP)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	FORECASTING_BROWSER=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests/browser -v --durations=0

# Rebuild the stored notebooks from their py:percent twins with a clean top-to-bottom run, in a kernel set
# up as a report run's (warnings as notes: no file paths of this machine in the stored outputs).
KERNEL_SETUP = '["--IPKernelApp.exec_lines=import forecasting.reports.kernel as _k; _k.setup(); del _k"]'
notebooks: $(STAMP)
	for py in notebooks/*.py; do \
	  case $$py in */conftest.py) continue;; esac; \
	  nb=$${py%.py}.ipynb; \
	  $(BIN)/jupytext --to notebook --output $$nb $$py && \
	  FORECASTING_PROGRESS=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.record_timing=False --ExecutePreprocessor.extra_arguments=$(KERNEL_SETUP) $$nb || exit 1; \
	done

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) data/demo reports/demo .pytest_cache
