"""Bone-name presets: the docs table is the code's table, and the BVH and glTF files carry the preset's names."""
from __future__ import annotations

import re

import numpy as np
import pygltflib
import pytest

from core.paths import repo_root
from core.skeleton import JOINT_NAMES
from export.bvh import RIG_NAMES, write_bvh
from export.gltf import write_gltf
from export.names import PRESETS, joint_names, rename
from tests.test_export_fixtures import synthetic_motion


def docs_table() -> dict[str, tuple[str, ...]]:
    text = (repo_root() / "docs" / "export.md").read_text()
    section = text[text.index("## Bone names"):]
    rows = [re.findall(r"`([^`]+)`", line) for line in section.splitlines() if line.startswith("| `")]
    return {"h36m": tuple(r[0] for r in rows), "mixamo": tuple(r[1] for r in rows), "unreal": tuple(r[2] for r in rows)}


def test_docs_table_is_the_code_table():
    assert docs_table() == {k: tuple(v) for k, v in PRESETS.items()}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_preset_names_are_unique_and_complete(preset):
    names = joint_names(preset)
    assert len(names) == len(JOINT_NAMES) == len(set(names))
    assert len({rename(r, preset) for r in RIG_NAMES}) == len(RIG_NAMES)


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="mixamo"):
        joint_names("blender")


@pytest.mark.parametrize("preset", ["mixamo", "unreal"])
def test_bvh_and_gltf_carry_the_preset_names(tmp_path, preset):
    poses = synthetic_motion(frames=5)
    write_bvh(tmp_path / "a.bvh", poses, fps=30.0, names=preset)
    bvh_joints = re.findall(r"(?:ROOT|JOINT) (\S+)", (tmp_path / "a.bvh").read_text())
    assert bvh_joints == [rename(r, preset) for r in RIG_NAMES]
    assert dict(zip(RIG_NAMES, bvh_joints))["r_knee"] == dict(zip(JOINT_NAMES, PRESETS[preset]))["r_knee"]
    write_gltf(tmp_path / "a.glb", poses, np.arange(5) / 30.0, names=preset)
    doc = pygltflib.GLTF2().load(str(tmp_path / "a.glb"))
    assert [doc.nodes[j].name for j in doc.skins[0].joints] == list(PRESETS[preset])
