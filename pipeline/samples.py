"""Real test media (OpenCV's samples messi5.jpg and vtest.avi, from Debian's opencv-doc package).

`sample_path(name)` finds a sample in .cache/media, else in the shared cache (../shared/media); with fetch=True it
downloads opencv-doc with `apt-get download` (no root needed), unpacks the two files from it (dpkg-deb) into
.cache/media. Files are checked against pinned sha256 values.

    python -m pipeline.samples --fetch
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from core.errors import SampleMissing
from core.paths import cache_dir, sha256_file, shared_dir

FETCH_HINT = "run `make media` (or `python -m pipeline.samples --fetch`)"
PACKAGE = "opencv-doc"
PACKAGE_DIR = "usr/share/doc/opencv-doc"          # where `dpkg -c` shows the files (opencv-doc 4.6.0)
SAMPLES = {  # name -> (path inside the package, sha256)
    "messi5.jpg": (f"{PACKAGE_DIR}/examples/data/messi5.jpg",
                   "1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9"),
    "vtest.avi": (f"{PACKAGE_DIR}/examples/data/vtest.avi",
                  "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"),
}
COPYRIGHT = ("opencv-doc.copyright", f"{PACKAGE_DIR}/copyright")


def media_dir() -> Path:
    return cache_dir() / "media"


def _ok(path: Path, name: str) -> bool:
    return path.is_file() and sha256_file(path) == SAMPLES[name][1]


def _shared_media() -> Path | None:
    shared = shared_dir()
    return shared / "media" if shared is not None else None


def sample_path(name: str, fetch: bool = False) -> Path:
    """Path of a sample file (.cache/media first, then the shared cache); fetches it when asked."""
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; choose one of {', '.join(SAMPLES)}")
    local = media_dir() / name
    if local.is_file():
        return local
    shared = _shared_media()
    if shared is not None and (shared / name).is_file():
        return shared / name
    if fetch:
        return fetch_samples()[name]
    raise SampleMissing(f"sample {name} is not in {media_dir()} nor in the shared cache; {FETCH_HINT}")


def _apt_download(tmp: Path) -> Path:
    """`apt-get download opencv-doc` into tmp; runs `apt-get update` once if that fails and we are root."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise SampleMissing(f"no shared cache and no apt-get/dpkg to download {PACKAGE}; copy messi5.jpg and "
                            f"vtest.avi into {media_dir()}")
    os.chmod(tmp, 0o777)  # lets apt's unprivileged _apt user write here when we run as root
    cmd = ["apt-get", "download", "-q", PACKAGE]
    proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    if proc.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    debs = sorted(tmp.glob(f"{PACKAGE}_*.deb"))
    if proc.returncode != 0 or not debs:
        last = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.startswith("E:")] or ["no .deb"]
        raise SampleMissing(f"`apt-get download {PACKAGE}` failed ({last[-1]}); {FETCH_HINT} on a machine with "
                            "Debian/Ubuntu package sources, or provide the shared cache")
    return debs[0]


def _unpack(deb: Path, members: list[str], out: Path) -> None:
    """Like `dpkg -x`, but writes only `members` (the package unpacks to ~300 MB; we need 8 MB of it)."""
    wanted = {m.lstrip("./") for m in members}
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    found = set()
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = member.name.lstrip("./")
                if member.isfile() and name in wanted:
                    (out / name).parent.mkdir(parents=True, exist_ok=True)
                    (out / name).write_bytes(tar.extractfile(member).read())
                    found.add(name)
                    if found == wanted:
                        break  # stop decompressing; dpkg-deb then ends on a broken pipe, which is fine
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        proc.wait()
    if found != wanted and proc.returncode != 0:
        raise SampleMissing(f"`dpkg-deb --fsys-tarfile {deb.name}` failed: {(err or 'no output').splitlines()[-1]}")


def _from_apt(names: list[str], dest: Path, log) -> None:
    with tempfile.TemporaryDirectory(prefix="diffmocap-media-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        deb = _apt_download(tmp)
        unpacked = tmp / "root"
        _unpack(deb, [SAMPLES[name][0] for name in names] + [COPYRIGHT[1]], unpacked)
        for name in names:
            inner = unpacked / SAMPLES[name][0]
            if not _ok(inner, name):
                raise SampleMissing(f"{deb.name}: {SAMPLES[name][0]} is missing or does not match its pinned sha256")
            shutil.copyfile(inner, dest / name)
        if (unpacked / COPYRIGHT[1]).is_file():
            shutil.copyfile(unpacked / COPYRIGHT[1], dest / COPYRIGHT[0])
        log(f"{', '.join(names)}: from apt package {deb.name} ({time.perf_counter() - t0:.1f} s)")


def fetch_samples(use_shared: bool = True, log=print) -> dict[str, Path]:
    """Make every sample available; returns name -> path. Prefers .cache/media, then the shared cache, then apt."""
    dest = media_dir()
    dest.mkdir(parents=True, exist_ok=True)
    paths, needed = {}, []
    shared = _shared_media() if use_shared else None
    for name in SAMPLES:
        if _ok(dest / name, name):
            paths[name] = dest / name
            log(f"{name}: already in {dest}")
        elif shared is not None and _ok(shared / name, name):
            paths[name] = shared / name  # read in place: the shared folder is a read-only cache
            log(f"{name}: from the shared cache {shared}")
        else:
            needed.append(name)
    if needed:
        _from_apt(needed, dest, log)
        paths.update({name: dest / name for name in needed})
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the sample media (messi5.jpg, vtest.avi) available.")
    parser.add_argument("--fetch", action="store_true", help="download what is missing (apt-get download opencv-doc)")
    parser.add_argument("--no-shared", action="store_true", help="ignore the shared cache")
    args = parser.parse_args(argv)
    try:
        if args.fetch:
            paths = fetch_samples(use_shared=not args.no_shared)
        else:
            paths = {name: sample_path(name) for name in SAMPLES}
    except SampleMissing as err:
        print(f"pipeline.samples: error: {err}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
