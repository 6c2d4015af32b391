# make demo: run the dashboard on the demo database at http://127.0.0.1:8501
# make test: run the test suite (extra pytest options: make test PYTEST_ARGS="-k map")

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip install -q --disable-pip-version-check
PYTEST_ARGS ?=

.PHONY: setup demo test

setup: $(VENV)/requirements.stamp

demo: setup
	@echo "Beatboard: http://127.0.0.1:8501"
	$(VENV)/bin/streamlit run dashboard.py --server.address 127.0.0.1 \
		--server.port 8501 --server.headless true --browser.gatherUsageStats false

test: setup $(VENV)/requirements-dev.stamp
	$(PYTHON) -m pytest $(PYTEST_ARGS)

$(PYTHON):
	python3 -m venv $(VENV)

# A stamp is newer than its requirements files once they are installed, so pip
# runs again only after one of them changes.
$(VENV)/requirements.stamp: requirements.txt | $(PYTHON)
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/requirements-dev.stamp: requirements-dev.txt requirements.txt | $(PYTHON)
	$(PIP) -r requirements-dev.txt
	touch $@
