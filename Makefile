# geovision: the two commands of the README.
#   make demo   set everything up, then run the main job on the demo event
#   make test   set everything up, then run the fast test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= outputs/demo

.PHONY: demo test test-all install doctor browser qgis clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/geovision run demo --out $(OUT) --overwrite

test: $(STAMP) browser qgis
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow" -q

test-all: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# headless Chromium for the report's browser test (Debian package; needs root)
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium)

# PyQGIS for the QGIS test of the run's styles (Debian package for the system python3; needs root)
qgis:
	/usr/bin/python3 -c "import qgis.core" 2>/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-qgis qgis-providers)

doctor: $(STAMP)
	$(BIN)/geovision doctor

clean:
	rm -rf $(VENV) outputs .pytest_cache .hypothesis
