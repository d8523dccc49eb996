# geovision: the commands of the README.
#   make demo   set everything up, then run the main job on the demo event
#   make test   set everything up, then run the fast test suite (-m "not slow")
#   make lint   set everything up, then ruff (lint + format check), mypy and the import contracts
#   make bench-peers  a separate .venv-peers with TorchGeo, for benchmarks/inference_throughput.py --peers
# "Set everything up" is `make install`: the .venv with the exact versions of requirements.lock,
# and the system packages the browser and QGIS tests drive (installing those needs root; each is
# a no-op when already present).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= outputs/demo

.PHONY: demo test test-all lint install doctor browser qgis bench-peers clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP) browser qgis

demo: install
	$(BIN)/geovision run demo --out $(OUT) --overwrite

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow" -q

test-all: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# every check runs, even after one fails; the target fails if any did
lint: $(STAMP)
	@status=0; \
	for check in "ruff check ." "ruff format --check --output-format concise ." "mypy" "lint-imports"; do \
		echo "== $$check"; $(BIN)/$$check || status=1; \
	done; \
	exit $$status

# headless Chromium for the report's browser tests (Debian package; needs root)
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium)

# PyQGIS for the QGIS test of the run's styles (Debian package for the system python3; needs root)
qgis:
	/usr/bin/python3 -c "import qgis.core" 2>/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-qgis qgis-providers)

# The peers of benchmarks/inference_throughput.py (TorchGeo's standard loop) run in their own venv:
# torchgeo is no dependency of the package. The same pins as .venv (requirements.lock: torch, timm,
# segmentation-models-pytorch, rasterio ...), so the model code is identical, and geovision itself
# (editable) so the peer loads the bundle with geovision's loader. torchgeo 0.8 imports requests
# at `import torchgeo.datasets` but lists it only in its "datasets" extra.
PEERS       := .venv-peers
PEERS_STAMP := $(PEERS)/.installed
TORCHGEO    ?= torchgeo==0.8.*

$(PEERS_STAMP): pyproject.toml requirements.lock Makefile
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet -c requirements.lock -e . "$(TORCHGEO)" requests
	touch $(PEERS_STAMP)

bench-peers: $(PEERS_STAMP)
	$(PEERS)/bin/python -c "import torchgeo.datasets, torchgeo.samplers, torch, geovision; print('torchgeo', torchgeo.__version__, 'torch', torch.__version__)"

doctor: $(STAMP)
	$(BIN)/geovision doctor

clean:
	rm -rf $(VENV) $(PEERS) outputs .pytest_cache .hypothesis .mypy_cache .ruff_cache .grimp_cache
