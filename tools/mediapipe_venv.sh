#!/usr/bin/env bash
# Create .venv-mediapipe: a separate venv holding mediapipe==0.10.14 (the reference for the 2D parity test).
# mediapipe is NOT a project requirement; it is installed with --no-deps plus only what `import mediapipe`
# and mp.solutions.pose need at run time (no jax, no sounddevice, no opencv-contrib).
# Usage: tools/mediapipe_venv.sh [VENV_DIR]   (default .venv-mediapipe in the repo root; idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv-mediapipe}"
PYTHON="${PYTHON:-python3}"
if [ -f "$VENV/.installed" ] && "$VENV/bin/python" -c "import mediapipe" >/dev/null 2>&1; then
  exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps mediapipe==0.10.14
# What `import mediapipe` + mp.solutions.pose import (matplotlib: solutions.drawing_utils imports it).
# pip then warns that jax, jaxlib, opencv-contrib-python and sounddevice are missing: expected, they are unused.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
  numpy==1.26.4 protobuf==4.25.9 absl-py==2.5.1 attrs==26.1.0 flatbuffers==25.12.19 \
  opencv-python-headless==4.10.0.84 matplotlib==3.11.2
"$VENV/bin/python" -c "import mediapipe as mp; mp.solutions.pose" >/dev/null
touch "$VENV/.installed"
