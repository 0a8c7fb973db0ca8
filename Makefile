# The two commands of the README: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 9092
HTTP_PORT ?=

.PHONY: run test test-kafka compat-matrix bench bench-kafka clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[registry]'
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# `make run HTTP_PORT=8092` also serves the HTTP API and the web console (with the journal
# that its trace view reads).
run: $(VENV)/.installed
	$(BIN)/kafkalite serve --host localhost --port $(PORT) $(if $(HTTP_PORT),--http-port $(HTTP_PORT) --journal-size 10000)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n 2

# compat_tests/ against the reference Apache Kafka of compat_tests/reference/ (Java 17+ and
# Maven; the jars are fetched into .cache/ on first use), then the two brokers side by side:
# .reports/compat-kafka.xml, and .reports/differential.md with `make test`'s results.
test-kafka: $(VENV)/.installed-test
	$(BIN)/python compat_tests/reference/kafka_reference.py run -- $(BIN)/python -m pytest -q -rs compat_tests; \
	status=$$?; $(BIN)/python compat_tests/reference/report.py --brief; exit $$status

# compat_tests/ against kafkalite with the request journal on (compat_tests/journal.py), then
# the compatibility matrix: compat_tests/compat-matrix.json and the README's table, rewritten
# from it (`kafkalite compat`). Written even when a test fails: the matrix counts failures.
COMPAT_JOURNAL := $(CURDIR)/.reports/compat-journal
compat-matrix: $(VENV)/.installed-test
	rm -rf $(COMPAT_JOURNAL)
	KAFKALITE_COMPAT_JOURNAL=$(COMPAT_JOURNAL) $(BIN)/python -m pytest -q compat_tests; \
	status=$$?; $(BIN)/kafkalite compat --journal $(COMPAT_JOURNAL) --update --readme README.md >/dev/null \
	&& exit $$status

bench: $(VENV)/.installed-test
	$(BIN)/python bench/startup.py

# bench/ against kafkalite and the reference Kafka (as test-kafka needs: Java 17+, Maven), one
# Markdown table for the README's Figures section; about 3 minutes.
bench-kafka: $(VENV)/.installed-test
	$(BIN)/python bench/side_by_side.py

clean:
	rm -rf $(VENV) kafkalite-data
