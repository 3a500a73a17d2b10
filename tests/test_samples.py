"""pipeline.samples: real media from .cache, the shared cache, or apt's opencv-doc."""
import os
import shutil

import cv2
import pytest

from pipeline import samples
from pipeline.samples import SAMPLES, SampleMissing, fetch_samples, sample_path


@pytest.fixture(scope="module")
def real_samples():
    return {name: sample_path(name, fetch=True) for name in SAMPLES}


def test_samples_are_the_real_media(real_samples):
    image = cv2.imread(str(real_samples["messi5.jpg"]))
    assert image.shape == (342, 548, 3)
    video = cv2.VideoCapture(str(real_samples["vtest.avi"]))
    ok, frame = video.read()
    assert ok and frame.shape == (576, 768, 3)
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 795
    video.release()


def test_shared_cache_is_read_in_place(tmp_path, monkeypatch, real_samples):
    shared = tmp_path / "shared"
    (shared / "media").mkdir(parents=True)
    for name, path in real_samples.items():
        os.symlink(path, shared / "media" / name)
    monkeypatch.setenv("DIFFMOCAP_SHARED", str(shared))
    monkeypatch.setenv("DIFFMOCAP_CACHE", str(tmp_path / "cache"))

    def no_apt(*_args, **_kw):
        raise AssertionError("apt must not be used when the shared cache has the files")

    monkeypatch.setattr(samples, "_from_apt", no_apt)
    paths = fetch_samples(log=lambda *_: None)
    assert all(paths[name] == shared / "media" / name for name in SAMPLES)
    assert sample_path("vtest.avi") == shared / "media" / "vtest.avi"


def test_missing_sample_message_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFMOCAP_SHARED", "none")
    monkeypatch.setenv("DIFFMOCAP_CACHE", str(tmp_path))
    with pytest.raises(SampleMissing) as err:
        sample_path("messi5.jpg")
    msg = str(err.value)
    assert "\n" not in msg and "python -m pipeline.samples --fetch" in msg
    with pytest.raises(KeyError):
        sample_path("lena.png")


@pytest.mark.slow
def test_apt_path(tmp_path, monkeypatch):
    """apt-get download opencv-doc (96 MB) + dpkg -x, no shared cache (about 4 s here)."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        pytest.skip("apt-get/dpkg not available: the Debian package path cannot run on this machine")
    monkeypatch.setenv("DIFFMOCAP_SHARED", "none")
    monkeypatch.setenv("DIFFMOCAP_CACHE", str(tmp_path))
    paths = fetch_samples(log=lambda *_: None)
    for name in SAMPLES:
        assert paths[name] == tmp_path / "media" / name
        assert samples._ok(paths[name], name)
    assert (tmp_path / "media" / "opencv-doc.copyright").is_file()
