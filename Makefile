# Each target creates .venv on first use, installing the pinned environment from requirements.lock.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-12)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

.PHONY: install repro verify test ui bench lock clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

repro: install
	$(VENV)/bin/dvc repro
	@git diff --quiet -- dvc.lock 2>/dev/null || echo "note: dvc.lock now records this run (fresh DP noise, salts of your lineage key): commit it to keep the run on record, or 'git checkout dvc.lock' (README: What the two commands do)"

# after `make repro`: re-derive every claim of the evidence and the report (signatures, independent epsilons,
# gates, lineage, releases); exit 1 on a MISMATCH (add --strict by hand: UNVERIFIABLE too); reports/verification.*
verify: install
	$(VENV)/bin/trust verify --out reports

# two workers, one per core (tests set one torch thread each); a test file stays on one worker (module fixtures);
# the README blocks are split over two files (tests/unit/test_readme_blocks*.py) so that they spread over both
test: install
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=25

ui: install
	@$(PY) -m trust.tracking ui-url
	$(VENV)/bin/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI)

bench: install
	$(PY) benchmarks/run_all.py

lock: install
	$(PY) -m pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu/torch==2.13.0/' > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .dvc/cache .dvc/tmp outputs metrics evidence reports mlflow.db
