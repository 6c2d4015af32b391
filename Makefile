# make demo: run the dashboard on the demo database at http://127.0.0.1:8501
# make test: run the test suite (extra pytest options: make test PYTEST_ARGS="-k map")
# make lint: check the code with ruff (lint rules and formatting)

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip install -q --disable-pip-version-check
PYTEST_ARGS ?=

.PHONY: setup demo test lint

setup: $(VENV)/requirements.stamp

demo: setup
	@echo "Beatboard: http://127.0.0.1:8501"
	$(PYTHON) serve.py --server.address 127.0.0.1 \
		--server.port 8501 --server.headless true --browser.gatherUsageStats false

test: setup $(VENV)/requirements-dev.stamp
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: setup $(VENV)/requirements-dev.stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

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

# Real data: the Chicago food inspections beside this repository, converted,
# loaded into .beatboard/chicago.sqlite and shown with the City's disclaimer.
CHICAGO_DATA ?= ../shared/data/chicago-inspections
CHICAGO_NOTICE := Inspection data: City of Chicago / Chicago Department of Public Health, via github.com/Chicago/food-inspections-evaluation (MIT, Copyright 2014 City of Chicago); boundaries via datamade/crimearound.us (MIT, Copyright 2013 Eric van Zanten). This site provides applications using data that has been modified for use from its original source, www.cityofchicago.org, the official website of the City of Chicago. The City of Chicago makes no claims as to the content, accuracy, timeliness, or completeness of any of the data provided at this site. The data provided at this site is subject to change at any time. It is understood that the data provided at this site is being used at one's own risk.

.PHONY: chicago
chicago: setup
	$(PYTHON) -m fixtures.chicago $(CHICAGO_DATA) .beatboard/chicago-csv
	$(PYTHON) -m data_access.load --db sqlite:///.beatboard/chicago.sqlite \
		--timezone America/Chicago .beatboard/chicago-csv
	@echo "Beatboard on Chicago inspections: http://127.0.0.1:8501"
	BEATBOARD_DATABASE_URL=sqlite:///.beatboard/chicago.sqlite \
	BEATBOARD_TIMEZONE=America/Chicago \
	BEATBOARD_DATA_NOTICE="$(CHICAGO_NOTICE)" \
	$(PYTHON) serve.py --server.address 127.0.0.1 \
		--server.port 8501 --server.headless true --browser.gatherUsageStats false
