# facecast: `make demo` installs everything and animates a shipped clip; `make test` runs lint and the tests.
# A fresh machine needs nothing but Python 3.10+ (3.11 for the Blender parts), pip and, for system packages, apt.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
OUT := out

.PHONY: install demo test lint proto bench clean system-deps

install: $(STAMP)

# torch comes first and pinned: the CPU build of 2.13.0 lies on disk here, and any later resolver run that sees
# torch already satisfied will not pull a multi-GB CUDA build.
$(STAMP): pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[train,dev]"
	touch $(STAMP)

system-deps:
	bash scripts/install_system_deps.sh

demo: install
	@mkdir -p $(OUT)
	$(VENV)/bin/facecast animate assets/speech_en.wav -o $(OUT)/demo.csv --quiet
	$(VENV)/bin/facecast animate assets/speech_en.wav -o $(OUT)/demo.fcclip --quiet
	$(VENV)/bin/facecast animate assets/speech_en.wav --image assets/portrait.jpg -o $(OUT)/demo.mp4 --quiet
	$(VENV)/bin/facecast verify $(OUT)/demo.mp4
	@echo "demo outputs in $(OUT)/: $$(ls $(OUT) | tr '\n' ' ')"

lint: install
	$(VENV)/bin/ruff check core tests benchmarks scripts

test: install lint
	$(VENV)/bin/pytest -q -ra

proto: install
	$(PY) scripts/gen_proto.py

bench: install
	$(PY) benchmarks/bench_motion.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache core/*.egg-info
