"""Where things live (the repository, the optional read-only ../shared cache, the local .cache folder) and the
sha256 that checks a fetched or shipped file is the pinned one."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The read-only shared folder beside the repo (a cache only; the project never requires it).

    DIFFMOCAP_SHARED overrides the location; DIFFMOCAP_SHARED=none disables it.
    """
    env = os.environ.get("DIFFMOCAP_SHARED")
    if env is not None:
        if env.lower() in ("", "none", "0", "off"):
            return None
        path = Path(env)
    else:
        path = repo_root().parent / "shared"
    return path if path.is_dir() else None


def cache_dir() -> Path:
    """Writable cache for fetched media and preprocessed data (gitignored); DIFFMOCAP_CACHE overrides it."""
    path = Path(os.environ.get("DIFFMOCAP_CACHE") or repo_root() / ".cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
