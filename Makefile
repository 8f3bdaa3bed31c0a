# Two commands on a fresh clone:  `make demo`  and  `make test`.
# The install puts a CPU build of torch first (a plain torch request can pull GBs of CUDA
# packages), then turnmem with its dev extras, into .venv.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
# Elsewhere, point this at PyTorch's CPU wheel index: make TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.turnmem-installed
PYTEST_ARGS ?=

.PHONY: install demo test eval bench lint clean serve

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/turnmem demo

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

eval: install
	$(BIN)/turnmem eval locomo --data ../shared/data/locomo10.json \
	    --strategies full,window,summary,dense,bm25,turnmem --budgets 256,512,1024,2048,4096 \
	    --out results/locomo

bench: install
	$(BIN)/python benchmarks/bench_assemble.py
	$(BIN)/python benchmarks/bench_service.py
	$(BIN)/python benchmarks/bench_scale.py --sizes 1000,10000,100000 --ef-search 256
	$(BIN)/python benchmarks/update_readme.py

serve: install
	$(BIN)/turnmem serve --data ./memdata

lint: install
	$(BIN)/ruff check memory indexers retrievers eval tests benchmarks

clean:
	rm -rf $(VENV) results .pytest_cache
