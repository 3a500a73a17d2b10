"""How every output file is written, and the account of what was written, for any sink (JSON Lines, BVH, render,
statistics, and sinks still to come).

The rule: an output grows or is written under a temporary name in its own folder and is renamed to its final name
only when it is complete and verified, so a final name never holds a half-written file:
- `atomic_write(path, data)`: the whole file at once (temporary file, fsync, check, rename);
- `partial_path(path)`: where an output that grows frame by frame lives while the run goes on (`o.partial.jsonl`);
  `publish(partial, path, verify)` renames it when the run ends. After a hard kill (SIGKILL, power loss) the frames
  so far are in the partial file.
An output object (`OutputFile`) says afterwards whether it was written, with how many frames, or why not;
`summary_lines` turns a list of them into the run's summary.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from core.errors import ConfigError, ExportError

NO_FRAMES = "no frame was processed"       # why an output of a run that processed nothing was not written
FRAME_PNG = re.compile(r"\d{6}\.png")     # the names a render folder writes (000000.png, ...)


def partial_path(path: str | os.PathLike) -> Path:
    """The name an output has while it is being written: beside it, same extension (writers pick the format from
    it), e.g. out.mp4 -> out.partial.mp4."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def temp_path(path: str | os.PathLike) -> Path:
    """A short-lived temporary name beside `path` for one atomic write (hidden, unique to this process)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


def names_written(path: str | os.PathLike) -> list[Path]:
    """Every name a file output may use on disk: its final, partial and temporary names (for the overlap checks)."""
    return [Path(path), partial_path(path), temp_path(path), temp_path(partial_path(path))]


def real_path(path: str | os.PathLike) -> Path:
    """The absolute path with every symlink, `..` and `~` resolved (whether or not it exists)."""
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def check_no_overlap(outputs, inputs) -> None:
    """Refuse (ConfigError: a bad command line, before anything is processed) any output that would overwrite an
    input or another output: by real path (symlinks, `..`, `~` resolved) and by inode (hard links), for each name an
    output uses on disk (final, partial, temporary). A folder output (one PNG per frame) may not be the source folder
    nor hold an input named like its pictures.

    outputs: (option, path, is_folder) triples; inputs: (what, path) pairs (the source, a folder source's pictures,
    the config file, ...)."""
    inputs = [(what, real_path(p)) for what, p in inputs]
    by_path = {p: what for what, p in inputs}
    by_inode = {}
    for what, p in inputs:
        key = _inode(p)
        if key is not None:
            by_inode.setdefault(key, (what, p))
    taken: dict[Path, str] = {}
    for option, path, folder in outputs:
        real = real_path(path)
        if folder:
            if real in by_path:
                raise ConfigError(f"{option} {path}: it is {by_path[real]} ({real}); its files would be overwritten")
            for what, p in inputs:
                if p.parent == real and FRAME_PNG.fullmatch(p.name):
                    raise ConfigError(f"{option} {path}: it holds {what} {p.name}, which a rendered frame would "
                                      "overwrite")
            names = [real]
        else:
            names = [real_path(n) for n in names_written(path)]
        for name in names:
            what = by_path.get(name)
            if what is None and name.exists():
                what = by_inode.get(_inode(name), (None,))[0]
            if what is not None:
                raise ConfigError(f"{option} {path}: it would overwrite {what} ({name})")
            if name in taken:
                raise ConfigError(f"{option} {path}: it is also {taken[name]}")
        for name in names:
            taken[name] = f"the output of {option}"


def discard(path: str | os.PathLike) -> None:
    """Remove a temporary or partial file if it is there; never raises."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


def reason(e: OSError) -> str:
    return e.strerror or str(e)


def publish(tmp: str | os.PathLike, path: str | os.PathLike, verify: Callable[[Path], None] | None = None) -> None:
    """Rename the finished file `tmp` to `path` after `verify(tmp)` (which raises ExportError when the file is not
    what was meant to be written). On any failure `tmp` is removed and ExportError names `path`."""
    tmp, path = Path(tmp), Path(path)
    try:
        if verify is not None:
            verify(tmp)
        os.replace(tmp, path)
    except ExportError:
        discard(tmp)
        raise
    except OSError as e:
        discard(tmp)
        raise ExportError(f"cannot write {path}: {reason(e)}") from None


def fsync_file(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def atomic_write(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> int:
    """Write the whole of `data` to `path` through a temporary file beside it (fsync, size check, rename): readers
    and an interrupted run see the previous file or the new one, never a part. Returns the bytes written; raises
    ExportError (one line) and leaves no temporary file when it cannot."""
    path = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else bytes(data)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            fsync_file(f)
    except OSError as e:
        discard(tmp)
        raise ExportError(f"cannot write {path}: {reason(e)}") from None
    except BaseException:   # an interrupt part-way: no temporary file left behind
        discard(tmp)
        raise

    def same_size(p: Path) -> None:
        if p.stat().st_size != len(raw):
            raise ExportError(f"cannot write {path}: wrote {p.stat().st_size} of {len(raw)} bytes")

    publish(tmp, path, same_size)
    return len(raw)


class OutputFile:
    """What every output reports after it is closed: `path`, `frames` (frames, or files for a folder, in it),
    `written` (True once its final name holds the complete, verified output) and `failure` (why not, one line).
    `unit` names what `frames` counts."""

    path: Path
    frames: int = 0
    written: bool = False
    failure: str | None = None
    unit: str = "frames"

    def fail(self, why: str) -> None:
        if self.failure is None:
            self.failure = why


def each_file(outputs) -> list:
    """The outputs with every output made of several files (`parts`, e.g. one BVH per person) replaced by them."""
    return [f for o in outputs for f in (getattr(o, "parts", None) or [o])]


def summary_lines(outputs) -> list[str]:
    """One line per output file: `wrote PATH (N frames)` or `NOT written: PATH (why)`."""
    lines = []
    for o in each_file(outputs):
        if o.written:
            note = f"; {o.failure}" if o.failure else ""
            lines.append(f"wrote {o.path} ({o.frames} {o.unit}{note})")
        else:
            lines.append(f"NOT written: {o.path} ({o.failure or 'not finished'})")
    return lines


def all_written(outputs) -> bool:
    return all(o.written and not o.failure for o in outputs)
