# Everything a fresh machine needs: `make demo` trains the example, `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: setup demo test lint format bench

setup: $(VENV)/.installed

# torch is pinned to the CPU build first, so the package's `torch>=2.4` installs nothing more.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[dev]"
	touch $@

demo: setup
	$(VENV)/bin/petri run examples/configs/lenet_digits.yaml

test: setup
	$(PY) -m ruff check src tests bench examples
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check src tests bench examples
	$(PY) -m ruff format --check src tests bench examples
	$(VENV)/bin/lint-imports

format: setup
	$(PY) -m ruff format src tests bench examples
	$(PY) -m ruff check --fix src tests bench examples

bench: setup
	bash bench/setup_peers.sh
	.venv-peers/bin/python bench/train_overhead.py
