"""Split assignment by whole held-out groups (clip-id glob patterns from configs/data.yaml) and the config loader."""
from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from core.paths import repo_root


def load_config(path: Path | None = None) -> dict:
    with open(path or repo_root() / "configs" / "data.yaml") as f:
        return yaml.safe_load(f)


def assign_split(clip_id: str, splits: dict) -> tuple[str, str]:
    """(split, group) for a clip id "<set>/<path>": test patterns win over val; everything else is train.

    group is the key under splits.test/val (e.g. "hdm05", "bandai"), or the set name for train clips.
    """
    for split in ("test", "val"):
        for group, patterns in splits.get(split, {}).items():
            if any(fnmatchcase(clip_id, p) for p in patterns):
                return split, group
    return "train", clip_id.split("/", 1)[0]
