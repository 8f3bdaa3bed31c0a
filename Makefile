# Two commands on a fresh clone:  `make demo`  and  `make test`  (`make test-fast` skips the slow checks).
# The install puts a CPU build of torch first (a plain torch request can pull GBs of CUDA
# packages), then turnmem with its dev extras, into .venv.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
# On Linux, PyPI's torch is the CUDA build (several GB of NVIDIA packages). To take the CPU build
# from PyTorch's own index instead: make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
# (not needed where pip is already configured with a CPU wheel, as on this project's CI machines).
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.turnmem-installed
PYTEST_ARGS ?=
# setuptools notes on every editable install of a flat layout that same-named folders in the
# working directory take precedence; here those folders are the packages themselves.
EDITABLE_NOTE := PYTHONWARNINGS='ignore:Editable installation'

.PHONY: install demo test test-fast eval bench lint typecheck clean serve chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> install into $(VENV): about 3.5 min and 2.4 GB on a 2-core machine, in 3 steps"
	@echo "==> [1/3] create $(VENV) and upgrade pip (seconds)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "==> [2/3] torch $(TORCH_VERSION), CPU build (about 200 MB download)"
	$(BIN)/pip install torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	@echo "==> [3/3] turnmem with its dependencies and dev extras (sentence-transformers, FAISS, Chroma,"
	@echo "    FastAPI, Jupyter kernel, ...): most of the time; pip lists each package as it goes"
	$(EDITABLE_NOTE) $(BIN)/pip install -e '.[dev]'
	@echo "==> export the bundled MiniLM to ONNX once, from its local weights (seconds; ~/.cache/turnmem/onnx)"
	$(BIN)/python -m memory.embedders.onnx
	touch $(STAMP)
	@echo "==> installed; next: make demo (about 15 s) or make test-fast / make test (see README)"

demo: install
	$(BIN)/turnmem demo

# The inspector's browser tests drive Debian's Chromium (never a downloaded browser): installed
# with apt when /usr/bin/chromium is missing (as root, or through sudo); without it they fail.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { echo "==> Debian's chromium for the browser tests (apt-get)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Every check, the slow ones included (notebooks, schema fuzzing, crash recovery, ...); ruff and
# mypy first (about a minute on 2 cores from a cold cache), so a lint or type error fails fast.
test: install chromium lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The developers' loop: everything but the checks marked slow (after ruff and mypy, as above).
test-fast: install chromium lint typecheck
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The unit tier: no PostgreSQL, Chroma, Chromium, server process or model (tests/tiers.py sets
# the `unit` mark from each test's fixtures and fails a unit test that starts one); under a minute.
.PHONY: test-unit
test-unit: install
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

eval: install
	$(BIN)/turnmem eval locomo --data ../shared/data/locomo10.json \
	    --strategies full,window,summary,dense,bm25,turnmem --budgets 256,512,1024,2048,4096 \
	    --out results/locomo

bench: install
	$(BIN)/python benchmarks/bench_assemble.py
	$(BIN)/python benchmarks/bench_service.py
	$(BIN)/python benchmarks/bench_scale.py --sizes 1000,10000,100000 --ef-search 256
	$(BIN)/python benchmarks/bench_mem0.py
	$(BIN)/python benchmarks/update_readme.py

serve: install
	$(BIN)/turnmem serve --data ./memdata

lint: install
	$(BIN)/ruff check memory indexers retrievers eval tests benchmarks

# mypy --strict (with the pydantic plugin) on memory/ indexers/ retrievers/ eval/: [tool.mypy] in pyproject.toml.
typecheck: install
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) results .pytest_cache
