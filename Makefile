# Customer classification management: set-up, report, tests.  `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= data/sample
QUARTER ?=
LANG_  ?= zh
JOBS   ?= 2
PIP    := $(BIN)/python -m pip install --quiet --no-compile
# Bytecode for every installed module and the project's package, compiled on both cores after each
# install (pip's own compiling runs on one): with PYTHONDONTWRITEBYTECODE set, as in some CI and
# container images, a process would otherwise compile pandas, scikit-learn and matplotlib again at
# every import (2.4 s of imports in a report kernel became 8.4 s)
COMPILE = $(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') src >/dev/null || true
# One stamp per lock file: `make report` installs the runtime only, `make test` adds the test tools and
# Spark, `make lab` adds JupyterLab.  The lock files pin the tested versions (regenerate: make lock).
REPORT_STAMP := $(VENV)/.report-stamp
TEST_STAMP   := $(VENV)/.test-stamp
LAB_STAMP    := $(VENV)/.lab-stamp

.PHONY: help env report test check lint format lab sample workshop bench lock size clean
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(REPORT_STAMP): requirements/report.txt pyproject.toml | $(BIN)/python
	$(PIP) -r requirements/report.txt
	$(PIP) --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name ccm --display-name "Python (ccm)" >/dev/null
	$(COMPILE)
	@touch $@

$(TEST_STAMP): requirements/test.txt $(REPORT_STAMP)
	$(PIP) -r requirements/test.txt
	$(COMPILE)
	@touch $@

$(LAB_STAMP): requirements/lab.txt $(REPORT_STAMP)
	$(PIP) -r requirements/lab.txt
	$(COMPILE)
	@touch $@

env: $(REPORT_STAMP) ## create .venv with the runtime packages (done by report/test/lab too)

report: $(REPORT_STAMP) ## build the environment and regenerate the default quarter's report from data/sample
	$(BIN)/ccm report --data-dir $(DATA) $(if $(QUARTER),--quarter $(QUARTER)) --jobs $(JOBS)

test: $(TEST_STAMP) ## lint, then the whole test suite (notebooks through papermill, Spark): what CI runs
	$(BIN)/ruff check src tests notebooks bench
	$(BIN)/ruff format --check src tests notebooks bench
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

check: $(TEST_STAMP) ## the quick loop: lint and unit tests (no notebooks, no Spark, nothing slow), under a minute
	$(BIN)/ruff check src tests notebooks bench
	$(BIN)/python -m pytest -n 2 -q -m "not notebook and not slow and not spark"

format: $(TEST_STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests notebooks bench
	$(BIN)/ruff format src tests notebooks bench

lab: $(LAB_STAMP) ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir notebooks

sample: $(REPORT_STAMP) ## regenerate the bundled sample company into data/sample
	$(BIN)/ccm sample --out data/sample

bench: $(TEST_STAMP) ## time the customer summary vs DuckDB SQL, lifetimes, pymc-marketing at 1M and 10M lines (docs/benchmark.md)
	nice -n 10 $(BIN)/python bench/run.py --rows 1000000 10000000 --repeat 3

workshop: $(REPORT_STAMP) ## regenerate the workshop's student notebooks, answer key and glossary (after label changes)
	$(BIN)/ccm workshop build

lock: $(REPORT_STAMP) ## re-resolve requirements/*.txt from pyproject.toml's ranges (then run make test)
	$(PIP) uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --no-header -q -o requirements/report.txt
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --no-header -q --extra dev --extra spark --extra scale -o requirements/test.txt
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --no-header -q --extra lab -o requirements/lab.txt

size: ## disk size of the environment
	@du -sh $(VENV)

clean: ## remove the environment and generated reports (keeps reports/README.md)
	rm -rf $(VENV) reports/*/ reports/.*building* .pytest_cache
