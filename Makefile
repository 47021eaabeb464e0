# make book: virtual environment + install + strict build of the site into _build/html/
# make bench: grading, database, cluster and book timings on this machine (README "Grading a large course")
# make test: the whole test suite (ruff, pytest); installs Debian's chromium for the browser test when missing
# make gpu-check: the references on a GPU against the CPU (README "Grading a large course")
# make test-fast: ruff and the tests not marked slow (no book build, browser, PostgreSQL, Dask, red team), under a minute
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
RUFF_FLAGS := --line-length 120 --target-version py311 --select E,F,W,I,B,UP,BLE --extend-exclude _build,book/exercises

export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: venv book test test-fast lint release selfcheck serve clean chromium bench gpu-check

venv: $(STAMP)

# Installs requirements.txt and this project (pyproject.toml: the student package lossbook-checks) in
# editable mode, in one resolution, so that a pin of pyproject.toml that disagrees with requirements.txt
# fails here. Editable, the project puts the checkout and book/ on the venv's path (hatchling's
# dev-mode-dirs): all of autograder/, with the CLI and the sandbox, and lossbook for the chapter pages.
# Then it removes rfc3987-syntax: jsonschema imports it for the optional "uri" format check, and
# building its grammar costs ~2.4 s at every start of nbgrader and the Jupyter server (see README
# "Start-up time").
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -e . > $(VENV)/pip.log 2>&1 \
		|| { tail -30 $(VENV)/pip.log; exit 1; }
	$(BIN)/pip uninstall -q -y rfc3987-syntax
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

# pytest runs two workers on two cores: one thread each for torch and BLAS, so that they do not fight over
# the cores (under load, torch's own threads made a 400-step fit take 25 s instead of 4 s).
test: export OMP_NUM_THREADS = 1
test: $(STAMP) chromium
	$(BIN)/ruff check $(RUFF_FLAGS) .
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -W "ignore::sqlalchemy.exc.SAWarning" tests

test-fast: export OMP_NUM_THREADS = 1
test-fast: $(STAMP)
	$(BIN)/ruff check $(RUFF_FLAGS) .
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -m "not slow" -W "ignore::sqlalchemy.exc.SAWarning" tests

lint: $(STAMP)
	$(BIN)/ruff check $(RUFF_FLAGS) .

release: $(STAMP)
	$(BIN)/python -m autograder release

selfcheck: $(STAMP)
	$(BIN)/python -m autograder selfcheck

# where each grading setting pays, measured here (README "Grading a large course"); under 15 minutes
bench: $(STAMP)
	$(BIN)/python -m autograder.bench

# the references on cuda vs the CPU, after the self-check (autograder/gpu_check.py); no network; without a GPU it
# says so and exits 0
gpu-check: export OMP_NUM_THREADS = 1
gpu-check: $(STAMP)
	$(BIN)/python -m autograder.gpu_check

serve: book
	$(BIN)/python -m http.server --directory _build/html 8000

# The headless browser of tests/test_site_browser.py (Debian's package; Playwright drives it).
# Installing it needs root (CI and a fresh machine run as root); otherwise say what to run.
chromium:
	@command -v chromium >/dev/null || [ "$$(id -u)" = 0 ] || \
		{ echo "make test: the browser test needs Debian's chromium: run 'sudo make chromium'"; exit 1; }
	@command -v chromium >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf _build
