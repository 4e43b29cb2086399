# MuSiC Studio. `make run` opens the studio on the demo song; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup system lint bench clean

run: setup
	$(BIN)/python scripts/run_studio.py

test: setup
	bash scripts/run_tests.sh

setup: system $(STAMP)

system:
	bash scripts/setup-system.sh

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[torch,corpus,eval,dev,demucs]"
	$(BIN)/python scripts/warm_caches.py
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check musicsim_gui tests bench scripts
	$(BIN)/lint-imports

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
