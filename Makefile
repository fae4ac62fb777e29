# Two entry points a new user needs; both set everything up from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup system-deps clean

$(BIN)/fazt: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test]' --config-settings editable_mode=compat
	@touch $(BIN)/fazt

setup: $(BIN)/fazt

## Run fazt on http://localhost:4698 with a demo site deployed.
run: setup
	./scripts/run-demo.sh

## System programs the tests drive for real (Pebble, Chromium, shellcheck): installed with apt when missing.
system-deps:
	./scripts/system-deps.sh

## Run the whole test suite, in two pytest-xdist workers (most of its time is spent waiting on real processes
## and sockets, so two workers overlap it; each test module stays in one worker, which keeps its fixtures).
test: setup system-deps
	$(BIN)/pytest -n 2 --dist loadscope

clean:
	rm -rf $(VENV) .venv-dist demo *.egg-info
