# Two entry points for a fresh machine (Python 3.11+, git, make, Node):
#   make demo  - set up, generate sample tenants' exports, run the whole pipeline, print where the tables are
#   make test  - set up (incl. the pinned Azurite emulator), `make lint`, `dg check defs`, then every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AZURITE_VERSION := 3.37.0
AZURITE_DIR := .tools/azurite
AZURITE_BIN := $(AZURITE_DIR)/node_modules/.bin/azurite-blob
export CLOUDMONITOR_AZURITE_BIN := $(abspath $(AZURITE_BIN))

.PHONY: setup demo test lint system-deps ui check-defs bench clean image test-image image-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

$(AZURITE_BIN):
	mkdir -p $(AZURITE_DIR)
	npm install --silent --no-audit --no-fund --prefix $(AZURITE_DIR) azurite@$(AZURITE_VERSION)

demo: $(STAMP)
	$(BIN)/cloudmonitor-pipelines demo

check-defs: $(STAMP)
	$(BIN)/dg check defs

# PostgreSQL server binaries and Chromium (Debian packages) for the instance and UI tests; needs root or sudo.
system-deps:
	bash scripts/ci-system-deps.sh

# ruff (pyflakes, isort, bugbear, pyupgrade, 120-character lines) over everything; mypy strict on the core packages (pyproject [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check cloudmonitor_pipelines cloudmonitor_pipelines_tests benchmarks scripts
	$(BIN)/mypy

test: $(STAMP) $(AZURITE_BIN) system-deps lint
	$(BIN)/dg check defs
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Container image from Debian packages (mmdebstrap) + the pinned wheels, imported with podman; needs root.
IMAGE_TAG ?= test
image-deps:
	command -v mmdebstrap >/dev/null && command -v podman >/dev/null || \
	  apt-get install -y --no-install-recommends mmdebstrap podman uidmap

image: $(STAMP) image-deps
	bash deploy/image/build.sh $(IMAGE_TAG)

# Runs the code server and a run worker from the image against this host's PostgreSQL (see test_image.py).
test-image: image system-deps
	CLOUDMONITOR_IMAGE=localhost/cloudmonitor-pipelines:$(IMAGE_TAG) \
	  $(BIN)/python -m pytest -m image -p no:randomly cloudmonitor_pipelines_tests/deploy/test_image.py

ui: $(STAMP)
	$(BIN)/cloudmonitor-pipelines ui

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest_benchmark.py

clean:
	rm -rf $(VENV) .tools .cloudmonitor
