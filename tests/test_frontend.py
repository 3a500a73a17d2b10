"""Joint map, candidates, front end with tracking, overlay and its CLI."""
import itertools

import numpy as np
import pytest
import torch

from core.records import Detection, Frame, Landmarks, Roi
from core.skeleton import JOINT_INDEX, LIMB_JOINTS
from detectors.joint_map import TABLE, USED, blazepose_candidates, map_points


def front_end_or_skip(**kw):
    from detectors.frontend import FrontEnd
    from weights.fetch import WeightsMissing

    try:
        return FrontEnd(**kw)
    except WeightsMissing as e:
        pytest.skip(f"BlazePose weights not fetched ({e})")


def sample_or_skip(name):
    from pipeline.samples import SampleMissing, sample_path

    try:
        return sample_path(name)
    except SampleMissing as e:
        pytest.skip(f"sample media missing ({e})")


def test_table_rows_are_affine_and_sides_follow_blazepose_names():
    assert TABLE.shape == (17, 33)
    assert np.allclose(TABLE.sum(1), 1.0)  # every joint is an affine combination: translation-equivariant
    pts = np.random.default_rng(0).normal(size=(33, 2))
    j = map_points(pts)
    assert np.allclose(j[JOINT_INDEX["l_shoulder"]], pts[11]) and np.allclose(j[JOINT_INDEX["r_shoulder"]], pts[12])
    assert np.allclose(j[JOINT_INDEX["l_wrist"]], pts[15]) and np.allclose(j[JOINT_INDEX["r_ankle"]], pts[28])
    assert np.allclose(j[JOINT_INDEX["pelvis"]], pts[[23, 24]].mean(0))
    thorax = pts[[11, 12]].mean(0)
    assert np.allclose(j[JOINT_INDEX["thorax"]], thorax)
    assert np.allclose(j[JOINT_INDEX["spine"]], (pts[[23, 24]].mean(0) + thorax) / 2)
    ears = pts[[7, 8]].mean(0)
    assert np.allclose(j[JOINT_INDEX["head"]], ears + 0.5 * (ears - thorax))
    assert np.allclose(j[JOINT_INDEX["neck"]], pts[0])
    assert set(USED) == {0, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28}
    for limb in LIMB_JOINTS:  # limb joints are direct copies
        assert np.count_nonzero(TABLE[limb]) == 1


def synthetic_landmarks(roi: Roi) -> tuple[Landmarks, np.ndarray]:
    """Heatmaps with one sharp peak per landmark at known cells; returns (landmarks, peak cells (39, 2))."""
    rng = np.random.default_rng(1)
    cells = rng.integers(8, 56, size=(39, 2))
    heat = np.full((39, 64, 64), -20.0, np.float32)
    for i, (c, r) in enumerate(cells):
        heat[i, r, c] = 8.0
    lm = Landmarks(roi=roi, presence=1.0, landmarks=np.zeros((33, 5)), world=np.zeros((33, 3)), heatmaps=heat)
    return lm, cells


def test_candidates_land_on_heatmap_peaks_in_image_px():
    roi = Roi(cx=300.0, cy=200.0, size=320.0, rotation=0.4)
    lm, cells = synthetic_landmarks(roi)
    cand = blazepose_candidates(lm, k=16, generator=torch.Generator().manual_seed(0))
    assert cand.xy.shape == (17, 16, 2) and cand.likelihood.shape == (17, 16)
    m = roi.crop_to_image(256)
    src_img = (cells * 4.0) @ m[:, :2].T + m[:, 2]            # peak cell -> crop px (4c, 4r) -> image
    expected = map_points(src_img[:33])
    # candidate 0 is the peak; samples of a one-cell map stay within that cell (4 crop px = 5 image px here)
    assert np.allclose(cand.xy[:, 0], expected, atol=1e-3)
    for j in LIMB_JOINTS:
        assert np.abs(cand.xy[j] - expected[j]).max() <= 0.5 * 4 * 320 / 256 * np.sqrt(2) + 1e-6
    assert (cand.likelihood > 0.99).all()


def test_front_end_on_messi_is_seeded_and_on_the_body():
    import cv2

    fe = front_end_or_skip(seed=3, k=32)
    img = cv2.imread(str(sample_or_skip("messi5.jpg")))
    frame = Frame(index=0, timestamp=0.0, image=img)
    persons, state = fe.process(frame, None)
    assert len(persons) == 1
    p = persons[0]
    assert p.candidates.xy.shape == (17, 32, 2) and not p.detection.tracked
    assert set(state.timings_ms) == {"detect", "landmarks", "candidates"} and state.timings_ms["detect"] > 0
    # peaks agree with the (heatmap-refined) landmarks mapped to our joints
    joints = map_points(p.landmarks.landmarks[:, :2])
    assert np.median(np.linalg.norm(p.candidates.xy[:, 0] - joints, axis=1)) < 4.0
    # most candidates lie near their joint (within 10 % of the ROI side)
    dist = np.linalg.norm(p.candidates.xy - joints[:, None], axis=2)
    assert np.median(dist) < 0.1 * p.detection.roi.size
    # same seed -> same candidates; the second call on the same source tracks
    fe2 = front_end_or_skip(seed=3, k=32, detector=fe.detector, landmark_model=fe.landmark_model)
    again, _ = fe2.process(frame, None)
    assert np.array_equal(again[0].candidates.xy, p.candidates.xy)
    tracked, state2 = fe.process(Frame(index=1, timestamp=0.1, image=img), state)
    assert tracked[0].detection.tracked and tracked[0].id == p.id and state2.timings_ms["detect"] == 0.0
    assert np.median(np.linalg.norm(tracked[0].landmarks.landmarks[:, :2] - p.landmarks.landmarks[:, :2],
                                    axis=1)) < 3.0


def test_tracking_on_vtest_follows_one_walker():
    from pipeline.sources import open_source

    fe = front_end_or_skip(seed=0, k=8)
    src = open_source(sample_or_skip("vtest.avi"))
    state, hips, ids, detector_runs = None, [], set(), 0
    with src:
        # frames 528..557: a pedestrian (detector score > 0.9 at 528) is found and then tracked
        for frame in itertools.islice(src, 528, 558):
            persons, state = fe.process(frame, state)
            detector_runs += state.timings_ms["detect"] > 0
            if persons:
                hips.append(persons[0].candidates.peaks[0, :2])
                ids.add(persons[0].id)
    assert len(hips) >= 25 and len(ids) == 1
    assert detector_runs <= 3                              # tracking, not re-detection, on most frames
    steps = np.linalg.norm(np.diff(np.array(hips), axis=0), axis=1)
    # this walker (about 130 px tall) moves about 7 px per frame at 10 fps; no jumps to someone else
    assert np.median(steps) < 12.0 and steps.max() < 40.0


def test_overlay_draws_every_layer():
    from visualize.overlay2d import draw_persons
    from core.records import Candidates, Detection, Person

    roi = Roi(cx=64.0, cy=64.0, size=100.0)
    lm, _ = synthetic_landmarks(roi)
    lm.landmarks[:, :2] = np.random.default_rng(2).uniform(20, 108, size=(33, 2))
    cand = blazepose_candidates(lm, k=4, generator=torch.Generator().manual_seed(0))
    person = Person(id=0, detection=Detection(score=1.0, bbox=np.array([14, 14, 114, 114.0]), roi=roi),
                    landmarks=lm, candidates=cand)
    img = np.zeros((128, 128, 3), np.uint8)
    out = draw_persons(img, [person], heatmap=True)
    assert out.shape == img.shape and img.max() == 0 and out.max() > 0
    plain = draw_persons(img, [person], heatmap=False, landmarks=False, candidates=False, roi=False)
    assert (out != 0).sum() > (plain != 0).sum() > 0


@pytest.mark.parametrize("args", [
    ["--source", "/nonexistent/clip.mp4", "--out", "OUT.png"],
    ["--source", "SELF", "--out", "OUT.png"],                    # a .py file: not media
    ["--source", "SELF", "--out", "OUT.txt"],
])
def test_cli_bad_input_is_one_line_and_exit_2(args, tmp_path, capsys):
    from tools.overlay import main

    args = [a.replace("SELF", __file__).replace("OUT", str(tmp_path / "o")) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err


def test_cli_bad_option_is_one_line_and_exit_2(capsys):
    from tools.overlay import main

    with pytest.raises(SystemExit) as e:
        main(["--source", "x.png", "--out", "y.png", "--model", "huge"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_cli_writes_overlay_png(tmp_path):
    import cv2

    from tools.overlay import main

    front_end_or_skip()  # skips without weights
    src = sample_or_skip("messi5.jpg")
    out = tmp_path / "messi.png"
    assert main(["--source", str(src), "--out", str(out), "--heatmap"]) == 0
    img, orig = cv2.imread(str(out)), cv2.imread(str(src))
    assert img.shape == orig.shape and (np.abs(img.astype(int) - orig).sum(2) > 30).mean() > 0.005


def test_one_euro_holds_still_points_and_follows_motion():
    from detectors.tracking import smooth_aux

    rng = np.random.default_rng(0)
    base = np.array([[300.0, 300.0], [300.0, 200.0]])
    filt, t = None, 0.0
    outs = []
    for _ in range(30):  # standing still with 1 px jitter: output jitters far less than the input
        filt, out = smooth_aux(filt, t, base + rng.normal(0, 1.0, size=(2, 2)))
        outs.append(out)
        t += 0.1
    assert np.std(np.array(outs)[10:], axis=0).max() < 0.3
    for _ in range(20):  # then walking 10 px per frame: the filter follows with a small lag
        base = base + [10.0, 0.0]
        filt, out = smooth_aux(filt, t, base)
        t += 0.1
    assert np.abs(out - base).max() < 15.0
    same, out2 = smooth_aux(filt, t - 0.1, base + 50)  # a repeated timestamp passes the input through
    assert same is filt and np.allclose(out2, base + 50)


def test_a_detection_turned_upside_down_also_gets_an_upright_try():
    from detectors.tracking import first_landmarks

    def lm(presence):
        return Landmarks(roi=None, presence=presence, landmarks=np.zeros((33, 5)), world=np.zeros((33, 3)),
                         heatmaps=np.zeros((0, 64, 64)))

    tried = []

    def run(rois):  # a model that recognises people near upright only
        tried.append([r.rotation for r in rois])
        return [lm(0.9 if abs(r.rotation) < 0.5 else 0.3) for r in rois]

    box = np.array([0.0, 0.0, 10.0, 40.0])
    dets = [Detection(0.8, box, Roi(5, 20, 50, -2.43)), Detection(0.8, box, Roi(50, 20, 50, 0.2)),
            Detection(0.8, box, Roi(90, 20, 50, 1.2))]
    out, lms = first_landmarks(run, dets)
    assert tried == [[-2.43, 0.2, 1.2, 0.0]]          # one batched call; only the > 90 deg one is tried again
    assert [d.roi.rotation for d in out] == [0.0, 0.2, 1.2] and [x.presence for x in lms] == [0.9, 0.9, 0.3]
    assert out[0].roi.cx == 5 and out[0].score == 0.8 and dets[0].roi.rotation == -2.43   # inputs untouched

    # a turn the model recognises keeps it (a handstand): the upright try loses on presence
    out, lms = first_landmarks(lambda rois: [lm(0.95 if abs(r.rotation) > 2 else 0.2) for r in rois], dets[:1])
    assert out[0].roi.rotation == -2.43 and lms[0].presence == 0.95


def test_upright_try_on_the_real_model_recovers_a_turned_crop():
    import cv2

    from detectors.tracking import first_landmarks

    fe = front_end_or_skip(seed=3, k=32)
    img = cv2.imread(str(sample_or_skip("messi5.jpg")))
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    persons, _ = fe.process(Frame(index=0, timestamp=0.0, image=img), None)
    det = persons[0].detection
    assert abs(det.roi.rotation) < 0.5
    turned = Detection(det.score, det.bbox, Roi(det.roi.cx, det.roi.cy, det.roi.size, det.roi.rotation + np.pi))
    run = lambda rois: fe.landmark_model.run([rgb] * len(rois), rois)  # noqa: E731
    (out,), (lm,) = first_landmarks(run, [turned])
    assert out.roi.rotation == 0.0 and lm.presence > max(0.5, run([turned.roi])[0].presence)
