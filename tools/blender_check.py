"""Load a BVH or a glTF (.glb) with Blender's own importers (bpy) and report frames, bones and joint positions;
optionally compare.

Runs in the separate Blender venv (tools/bpy_venv.sh makes .venv-bpy; bpy needs numpy 1.x):
    .venv-bpy/bin/python tools/blender_check.py out.bvh|out.glb [--expect expected.json] [--tol 0.001]
expected.json: {"num_frames": T, "bones": [names], "units": "m"|"cm",
                "frames": {"<0-based frame>": {"<joint>": [x, y, z], ...}, ...}}  (file's +Y-up frame, metres)
Prints one JSON summary line; exit status 0 when everything matches, 1 when not. Uses only bpy and the stdlib,
so it does not import the project (whose numpy 2 cannot load in this venv).
"""
from __future__ import annotations

import argparse
import json
import math
import sys


def is_gltf(path: str) -> bool:
    return path.lower().endswith((".glb", ".gltf"))


def load(path: str):
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    if is_gltf(path):
        # glTF is +Y up: the importer maps file (x, y, z) to Blender (x, -z, y), as the BVH import below does.
        bpy.ops.import_scene.gltf(filepath=path)
        arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
        return bpy, arm
    # Blender is Z-up: with axis_up="Y", axis_forward="-Z" the importer maps file (x, y, z) to Blender (x, -z, y).
    bpy.ops.import_anim.bvh(filepath=path, global_scale=1.0, frame_start=1, use_fps_scale=False,
                            update_scene_fps=True, update_scene_duration=True, rotate_mode="NATIVE",
                            axis_forward="-Z", axis_up="Y")
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    return bpy, arm


def frame_keys(bpy, arm, gltf: bool) -> list[float]:
    """Blender's (possibly fractional) frame of each file frame: a BVH's frame k is frame k + 1; a glTF's key
    times land wherever the scene's frame rate puts them, so they are read from the imported keyframes."""
    action = arm.animation_data.action if arm.animation_data else None
    if not gltf:
        first, last = [int(v) for v in action.frame_range] if action else (1, 1)
        return [float(f) for f in range(first, last + 1)]
    if action is None:
        return [0.0]
    return sorted({round(k.co[0], 4) for fc in action.fcurves for k in fc.keyframe_points})


def joint_positions(bpy, arm, frame: float) -> dict[str, list[float]]:
    """Bone heads at a Blender frame, back in the file's +Y-up axes (Blender units = file units)."""
    bpy.context.scene.frame_set(int(frame // 1), subframe=frame % 1)
    out = {}
    for pb in arm.pose.bones:
        x, y, z = arm.matrix_world @ pb.head
        out[pb.name] = [x, z, -y]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bvh", help="a .bvh, .glb or .gltf file")
    ap.add_argument("--expect", help="JSON with num_frames, bones and joint positions at some frames")
    ap.add_argument("--tol", type=float, default=0.001, help="max joint distance in metres (default 1 mm)")
    args = ap.parse_args(argv)

    bpy, arm = load(args.bvh)
    scene = bpy.context.scene
    keys = frame_keys(bpy, arm, is_gltf(args.bvh))
    report = {"blender": bpy.app.version_string, "bones": len(arm.data.bones),
              "frames": len(keys), "frame_range": [keys[0], keys[-1]],
              "fps": scene.render.fps / scene.render.fps_base}
    ok = True
    if args.expect:
        with open(args.expect) as f:
            expect = json.load(f)
        scale = {"m": 1.0, "cm": 100.0}[expect.get("units", "m")]
        names = sorted(b.name for b in arm.data.bones)
        report["frames_ok"] = report["frames"] == expect["num_frames"]
        report["bones_ok"] = names == sorted(expect["bones"])
        worst = 0.0
        for frame, joints in expect["frames"].items():
            got = joint_positions(bpy, arm, keys[int(frame)])
            for name, xyz in joints.items():
                d = math.dist([v / scale for v in got[name]], xyz)
                worst = max(worst, d)
        report["max_joint_error_m"] = worst
        report["checked_frames"] = sorted(int(k) for k in expect["frames"])
        ok = report["frames_ok"] and report["bones_ok"] and worst <= args.tol
    else:
        report["frame0"] = {k: [round(v, 4) for v in xyz] for k, xyz in joint_positions(bpy, arm, keys[0]).items()}
    report["ok"] = ok
    print(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
