# genlab: `make train` trains the default experiment, `make test` runs the test suite.
# Both create .venv when missing and install PyTorch first (TORCH_SPEC picks the build), then genlab.
VENV ?= .venv
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
SHARED_DATA := $(abspath ../shared/data)
BIN := $(VENV)/bin
STAMP := $(VENV)/.genlab-installed

.PHONY: install train test test-slow clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	@# pin the torch just installed so no dependency can swap it for another build
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/constraints.txt
	$(BIN)/python -m pip install -q -c $(VENV)/constraints.txt -e ".[dev]"
	@touch $@

install: $(STAMP)

train: install
	$(BIN)/genlab-train $(ARGS)

# As root (CI's `make test`) setup_test_services starts the local SLURM cluster and installs Chromium, so
# tests/test_slurm.py and the browser checks of tests/test_compare.py must not skip.
test: export GENLAB_REQUIRE_SLURM ?= $(if $(filter 0,$(shell id -u)),1,0)
test: export GENLAB_REQUIRE_BROWSER ?= $(if $(filter 0,$(shell id -u)),1,0)
# The services setup_test_services starts are stopped again after pytest (stop_test_services), pass or fail.
test: install
	bash scripts/setup_test_services.sh
	if [ -d "$(SHARED_DATA)" ]; then export GENLAB_DATA_DIR="$(SHARED_DATA)"; fi; status=0; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; bash scripts/stop_test_services.sh; exit $$status

test-slow: install
	if [ -d "$(SHARED_DATA)" ]; then export GENLAB_DATA_DIR="$(SHARED_DATA)"; fi; $(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

clean:
	rm -rf outputs .pytest_cache
