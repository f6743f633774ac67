# Two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# The lock: every install (build environments included) takes these versions.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run test bench lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt setup.py packaging/host-deps.sh packaging/link-system-packages.sh $(wildcard elkeid/proto/*.proto) elkeid/server/ac/_fastwire.c
	packaging/host-deps.sh
	test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	packaging/link-system-packages.sh $(VENV)
	touch $@

run: setup
	packaging/run-local.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m pytest tests/bench -p no:cacheprovider -s $(PYTEST_ARGS)

# Re-resolve the lock from pyproject.toml's ranges (needs the package registry).
lock:
	rm -rf build/lockenv && /usr/bin/python3 -m venv build/lockenv
	PIP_CONSTRAINT= build/lockenv/bin/pip install -q -e '.[test]' setuptools grpcio-tools
	build/lockenv/bin/pip freeze --exclude-editable --all | grep -v '^pip==' > constraints.txt

clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts
	rm -f elkeid/server/ac/_fastwire.*.so
