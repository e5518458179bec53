# Customer classification management: set-up, report, tests.  `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   ?= data/sample
QUARTER ?=
LANG_  ?= zh
JOBS   ?= 2
EXTRAS ?= dev,spark

.PHONY: help env report test lab sample workshop bench clean
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	$(BIN)/python -m ipykernel install --sys-prefix --name ccm --display-name "Python (ccm)" >/dev/null
	@touch $(STAMP)

env: $(STAMP) ## create .venv and install the project (done by report/test/lab too)

report: $(STAMP) ## build the environment and regenerate the default quarter's report from data/sample
	$(BIN)/ccm report --data-dir $(DATA) $(if $(QUARTER),--quarter $(QUARTER)) --jobs $(JOBS)

test: $(STAMP) ## run the whole test suite (notebooks executed through papermill)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir notebooks

sample: $(STAMP) ## regenerate the bundled sample company into data/sample
	$(BIN)/ccm sample --out data/sample

bench: $(STAMP) ## time the customer summary vs DuckDB SQL, lifetimes, pymc-marketing at 1M and 10M lines (docs/benchmark.md)
	nice -n 10 $(BIN)/python bench/run.py --rows 1000000 10000000 --repeat 3

workshop: $(STAMP) ## regenerate the workshop's student notebooks, answer key and glossary (after label changes)
	$(BIN)/ccm workshop build

clean: ## remove the environment and generated reports (keeps reports/README.md)
	rm -rf $(VENV) reports/*/ reports/.*building* .pytest_cache
