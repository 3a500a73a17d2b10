#!/usr/bin/env bash
# Makes .venv-bpy: Blender as a Python module (bpy), used only by tools/blender_check.py and the optional
# Blender test. bpy 4.4 is built for Python 3.11 and against numpy 1.x, so it cannot share the main venv
# (numpy 2.x). Needs python3.11 and a few X/GL client libraries that Blender links against (no display).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv-bpy}
BPY_VERSION=4.4.0
NUMPY_VERSION=1.26.4

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=""
  for p in libxrender1 libxi6 libxkbcommon0 libsm6 libxxf86vm1 libxfixes3 libgl1 libegl1; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then apt-get update -qq && apt-get install -y -qq $missing; fi
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "numpy==$NUMPY_VERSION" "bpy==$BPY_VERSION"
"$VENV/bin/python" -c "import bpy; print('bpy', bpy.app.version_string, 'ready in $VENV')"
