# Two commands on a fresh Debian/Ubuntu machine with Python 3.11:
#   make run    install everything and run the app on its default source (webcam, else the sample media)
#   make test   install everything and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libgl1 libegl1 libgl1-mesa-dri libusb-1.0-0 libgomp1

.PHONY: run test setup test-extras apt venv weights media clean

run: setup
	$(PY) app.py $(ARGS)

test: setup test-extras
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && echo "no tests collected" && exit 1; exit $$rc

setup: apt venv weights media

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

weights: venv
	$(PY) -m weights.fetch

media: venv
	$(PY) -m pipeline.samples --fetch

# Reference tools that must not share the main venv (they pin numpy 1.x): MediaPipe 0.10.14 for the 2D parity
# test and the speed ratio, Blender's bpy for the BVH and glTF import tests; the Khronos glTF validator (npm) for
# the glTF test, in .node/; the pinned pose2sim wheel's two-person demo videos for the multi-person test (and, with
# ../shared, the real trial's other two phones). Best effort: their tests skip when absent.
GLTF_VALIDATOR := gltf-validator@2.0.0-dev.3.10

test-extras:
	-bash tools/mediapipe_venv.sh
	-bash tools/bpy_venv.sh
	-npm install --silent --no-audit --no-fund --prefix .node $(GLTF_VALIDATOR)
	-$(PY) -m tools.pose2sim_views --multi

clean:
	rm -rf $(VENV) .venv-mediapipe .venv-bpy .cache .node
