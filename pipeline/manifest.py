"""The batch command's bookkeeping: which inputs a batch has, where each one's outputs go, and the manifest
(JSON Lines, one record per finished input) that `--resume` checks outputs against.

Layout under the output folder:
    DIR/<key>/<name>.jsonl, <name>.bvh, <name>.glb, <name>_render.mp4 (.png for an image)   one folder per input
    DIR/manifest.jsonl        one line per finished input (appended, flushed and synced line by line)
    DIR/.partial/             work in progress: a run writes an input's outputs here and renames the folder into
                              place when they are all complete, so DIR/<key>/ is always a complete set or absent
<key> is the input's path relative to the folder it was found in, without its suffix (a file given by name: its
stem); two inputs with the same key get "_2", "_3", ...
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from pipeline.sources import IMAGE_EXTS, VIDEO_EXTS

MANIFEST = "manifest.jsonl"
PARTIAL = ".partial"
EXPORTS = ("json", "bvh", "gltf", "render")


@dataclass(frozen=True)
class Input:
    path: Path       # the file
    key: str         # its output folder under DIR (posix, unique in the batch)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def one_line(e: BaseException) -> str:
    """An error as the one line the manifest and the summary show."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    return first if isinstance(e, UserError) else f"{type(e).__name__}: {first}"


def _media(folder: Path) -> list[Path]:
    exts = IMAGE_EXTS | VIDEO_EXTS
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def collect_inputs(specs: list[str]) -> tuple[list[Input], list[str]]:
    """Files, folders (recursive: videos and images) and glob patterns -> inputs in a stable order, and the specs
    that matched nothing. A file named on its own is taken whatever its extension (the worker then says what it is)."""
    found: list[tuple[Path, str]] = []
    missing = []
    for spec in specs:
        matches = [Path(m) for m in sorted(glob.glob(spec, recursive=True))] if glob.has_magic(spec) else [Path(spec)]
        matches = [m for m in matches if m.exists()]
        if not matches:
            missing.append(spec)
        for m in matches:
            if m.is_dir():
                found += [(p, p.relative_to(m).with_suffix("").as_posix()) for p in _media(m)]
            else:
                found.append((m, m.stem))
    seen, keys, out = set(), set(), []
    for path, key in found:
        real = path.resolve()
        if real in seen:
            continue
        seen.add(real)
        unique, n = key, 1
        while unique in keys:
            n += 1
            unique = f"{key}_{n}"
        keys.add(unique)
        out.append(Input(path, unique))
    return out, missing


def output_names(name: str, exports: tuple[str, ...], image: bool) -> dict[str, str]:
    """File names of one input's outputs (inside its folder), by export kind."""
    files = {"json": f"{name}.jsonl", "bvh": f"{name}.bvh", "gltf": f"{name}.glb",
             "render": f"{name}_render.{'png' if image else 'mp4'}"}
    return {k: files[k] for k in exports}


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe_files(folder: Path, names: dict[str, str]) -> dict[str, dict]:
    """{kind: {"path": file name, "bytes": n, "sha256": hex}} of written outputs (a kind with no file is left out: a
    render of a source with no frame, say)."""
    out = {}
    for kind, name in names.items():
        p = folder / name
        if p.is_file():
            out[kind] = {"path": name, "bytes": p.stat().st_size, "sha256": sha256(p)}
    return out


def input_identity(path: Path) -> dict:
    st = path.stat()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def settings_key(settings: dict) -> str:
    """A short hash of everything that changes an input's outputs (settings, exports, frame limit)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Manifest:
    """DIR/manifest.jsonl: appended one complete line at a time (flushed and synced), read back tolerantly (a torn
    last line from a hard kill is ignored)."""

    def __init__(self, out_dir: Path):
        self.path = Path(out_dir) / MANIFEST

    def records(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def latest(self) -> dict[str, dict]:
        """The last record of each input (by its resolved path)."""
        return {r["input"]: r for r in self.records() if "input" in r}

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())


def verified(record: dict | None, item: Input, out_dir: Path, settings: str, check_hash: bool = True) -> bool:
    """True when a manifest record says this input finished with these settings, the input is unchanged, and every
    output it lists is there with its recorded size (and sha256)."""
    if not record or record.get("status") != "ok" or record.get("settings") != settings:
        return False
    try:
        if record.get("input_identity") != input_identity(item.path):
            return False
    except OSError:
        return False
    for info in record.get("outputs", {}).values():
        p = out_dir / info["path"]
        if not p.is_file() or p.stat().st_size != info["bytes"]:
            return False
        if check_hash and sha256(p) != info["sha256"]:
            return False
    return True


def failed_same(record: dict | None, item: Input, settings: str) -> bool:
    """True when this unchanged input failed last time with these settings (it would fail again: a corrupt file)."""
    if not record or record.get("status") != "failed" or record.get("settings") != settings:
        return False
    try:
        return record.get("input_identity") == input_identity(item.path)
    except OSError:
        return False


def install(partial: Path, final: Path) -> None:
    """Put a finished input's folder in place with one rename (an older folder there is moved aside first, then
    deleted)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = partial.with_name(partial.name + ".old")
        os.replace(final, old)
    os.replace(partial, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
