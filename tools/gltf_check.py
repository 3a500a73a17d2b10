"""Check a .glb written with --export-gltf against the JSON Lines of the same run: the Khronos validator (npm
gltf-validator in .node/, `make test-extras`) and Blender's glTF importer (.venv-bpy), joint positions within --tol.

    python -m tools.gltf_check out.glb out.jsonl [--frames 8] [--tol 0.001]

The expected positions are the JSONL's pose_3d_world of the person the exports follow (export.convert's rule, frames
without them filled in as there) minus the file's ground height (scene extras). Prints one JSON line; exit 0 when
the validator reports no error and Blender's joints are within --tol at every checked frame.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pygltflib

from core.paths import repo_root
from export.convert import poses_from_jsonl


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("glb")
    ap.add_argument("jsonl")
    ap.add_argument("--frames", type=int, default=8, help="frames checked in Blender, spread over the take")
    ap.add_argument("--tol", type=float, default=0.001, help="max joint distance in metres (default 1 mm)")
    args = ap.parse_args(argv)
    root = repo_root()
    run = subprocess.run(["node", str(root / "tools" / "gltf_validate.js"), args.glb], capture_output=True, text=True)
    validator = json.loads(run.stdout.strip().splitlines()[-1])
    doc = pygltflib.GLTF2().load(args.glb)
    extras = doc.scenes[doc.scene].extras
    names = [doc.nodes[j].name for j in doc.skins[0].joints]
    poses, _, person = poses_from_jsonl(args.jsonl)
    if poses is None:
        print(json.dumps({"glb": args.glb, "ok": False, "error": f"no 3D pose in {args.jsonl}"}))
        return 1
    expected = poses - np.array([0.0, extras["ground_height_m"], 0.0])
    checked = sorted({int(round(i)) for i in np.linspace(0, len(expected) - 1, max(1, args.frames))})
    expect = {"num_frames": len(expected), "bones": names, "units": "m",
              "frames": {str(f): {n: expected[f, j].tolist() for j, n in enumerate(names)} for f in checked}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(expect, f)
    blender = subprocess.run([str(root / ".venv-bpy" / "bin" / "python"), str(root / "tools" / "blender_check.py"),
                              args.glb, "--expect", f.name], capture_output=True, text=True)
    Path(f.name).unlink()
    report = json.loads(blender.stdout.strip().splitlines()[-1])
    ok = validator["errors"] == 0 and report["ok"]
    print(json.dumps({"glb": args.glb, "frames": len(expected), "person": person,
                      "validator": {k: validator[k] for k in ("errors", "warnings", "infos", "hints")},
                      "blender": {k: report.get(k) for k in ("blender", "bones", "frames", "max_joint_error_m",
                                                              "checked_frames", "ok")}, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
