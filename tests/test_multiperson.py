"""Several people: the tiled scan, the track ids through a crossing (two real pedestrians composited walking past
each other, tests/crossing.py), the lifter batch, per-person state, and one BVH per track."""
from __future__ import annotations

import numpy as np
import pytest

from core.records import Candidates, Detection, Frame, FrameResult, Person, Roi
from detectors.people import merge, next_regions, tile_regions


def vtest_or_skip():
    from pipeline.samples import SampleMissing, sample_path
    from weights.fetch import WeightsMissing, model_path
    try:
        model_path("pose_detection")
        return sample_path("vtest.avi")
    except (SampleMissing, WeightsMissing) as e:
        pytest.skip(f"sample media or BlazePose weights missing ({e})")


def test_tile_regions_cover_the_frame():
    regions = tile_regions(768, 576)
    assert regions[0] == (0, 0, 0)                      # the whole frame first
    mid, small = regions[1:5], regions[5:]              # then the middle level, then the small tiles
    for level, side, count in ((mid, 480, 2 * 2), (small, 192, 5 * 4)):
        assert len(level) == count
        covered = np.zeros((576, 768), bool)
        for x, y, s in level:
            assert s == side and 0 <= x <= 768 - side and 0 <= y <= 576 - side
            covered[y:y + s, x:x + s] = True
        assert covered.all()
    assert tile_regions(100, 80) == [(0, 0, 0), (0, 0, 192)]   # smaller than a tile: one (padded) tile
    assert tile_regions(400, 300) == [(0, 0, 0)] + [(x, y, 192) for y in (0, 108) for x in (0, 144, 208)]  # no mid
    big = tile_regions(3840, 2160)[1:]                          # a 4K frame: bigger tiles, not 364 of them
    assert len(big) == 6 + 28 and {side for _, _, side in big} == {1920, 768}


def test_two_people_side_by_side_are_two_people():
    """On the whole frame BlazePose's detector saw pose2sim's two-person demo (cam02, frame 10: a man balancing, a
    woman in front of him) as one, its ROI between them; the landmarks took the woman and the man was never
    followed. The middle level's tiles see each whole: both are followed within the first frames."""
    from detectors.multi import MultiFrontEnd
    from pipeline.sources import open_source
    from tools.pose2sim_views import multi_dir
    video = multi_dir() / "cam02.mp4"
    if not video.is_file():
        pytest.skip("no pose2sim two-person demo (python -m tools.pose2sim_views --multi)")
    vtest_or_skip()   # the BlazePose weights
    fe = MultiFrontEnd(model="full", seed=0, num_threads=1, k=4)
    state, ids = None, {"man": set(), "woman": set()}
    with open_source(str(video)) as source:
        for _ in range(5):
            persons, state = fe.process(source.read(), state)
            for p in persons:
                hips = p.landmarks.landmarks[[23, 24], :2].mean(0)
                for who, at in (("man", (575, 757)), ("woman", (193, 1082))):
                    if np.linalg.norm(hips - at) < 100 and np.ptp(p.landmarks.landmarks[:, 1]) > 500:
                        ids[who].add(p.id)
    assert len(ids["man"]) == 1 and len(ids["woman"]) == 1 and ids["man"] != ids["woman"]
def test_round_robin_visits_every_region():
    seen, cursor = [], 0
    for _ in range(10):
        idx, cursor = next_regions(20, cursor, 2)
        seen += idx
    assert sorted(seen) == list(range(20))


def test_merge_keeps_the_best_of_overlapping_detections():
    def det(score, x):
        return Detection(score=score, bbox=np.array([x, 0, x + 50, 100.0]), roi=Roi(x + 25, 50, 100))
    kept = merge([det(0.6, 0), det(0.9, 5), det(0.7, 300)])
    assert [d.score for d in kept] == [0.9, 0.7]


@pytest.fixture(scope="module")
def crossing_run():
    from detectors.multi import MultiFrontEnd
    from tests.crossing import crossing
    frames, truth = crossing(vtest_or_skip())
    fe = MultiFrontEnd(model="full", seed=0, num_threads=1, k=4)
    state, out = None, []
    for f in frames:
        persons, state = fe.process(f, state)
        out.append([(p.id, float(p.detection.bbox[[0, 2]].mean())) for p in persons])
    return out, truth


def test_both_ids_survive_a_crossing(crossing_run):
    """Person 0 walks right, person 1 left, overlapping mid-way: each keeps the id it had before the crossing."""
    out, truth = crossing_run
    owner = {}                                   # id -> which true person it was on
    for people, centres in zip(out, truth):
        for track_id, x in people:
            who = int(np.argmin(np.abs(np.asarray(centres) - x)))
            assert abs(centres[who] - x) < 40, "a person box far from both people"
            assert owner.setdefault(track_id, who) == who, f"id {track_id} moved from one person to the other"
    first = {who: i for i, who in owner.items() if any(i == p for p, _ in out[0])}
    last = {owner[i]: i for i, _ in out[-1]}
    assert len(first) == 2 and last == {0: first[0], 1: first[1]}, (out[0], out[-1])


def test_one_bvh_per_track_never_joining_people(tmp_path):
    from export.tracks import TrackBvhSink
    from tests.test_export_bvh import read_bvhio
    from tests.test_export_fixtures import make_result, synthetic_motion
    a = synthetic_motion(frames=300)          # slow: a full circle in 10 s
    path = tmp_path / "out.bvh"
    with TrackBvhSink(path, fps=10.0, rewrite_every=3600.0) as sink:
        for i in range(3):
            sink.write(make_result(i, a[i], person_id=4))
        sink.flush()
        assert sink.paths == [path] and sink.parts[0].partial.exists()    # one person so far: out.bvh (partial name while running)
        for i in range(3, 10):              # person 9 (1 m to the side) joins; 4 is missed in frame 5, gone after 7
            r = make_result(i, a[i], person_id=4, extra_people=1)
            r.persons[1].id = 9
            if i == 5 or i >= 8:
                r.persons = r.persons[1:]
            sink.write(r)
    assert sink.ids == [4, 9] and sink.paths == [path, tmp_path / "out_id9.bvh"]   # the first person keeps out.bvh
    one, two = read_bvhio(path), read_bvhio(tmp_path / "out_id9.bvh")
    assert len(one) == 8 and len(two) == 7                           # frames 0-7 and 3-9: first to last seen
    mid = (one[4] + one[6]) / 2                                        # the missed frame: between its neighbours
    assert np.abs(one[5, 0] - mid[0]).max() < 1e-3 and np.abs(one[5] - mid).max() < 0.01   # (joints through IK)
    steps = [np.linalg.norm(np.diff(x[:, 0], axis=0), axis=1).max() for x in (one, two)]
    assert max(steps) < 0.5, steps                                     # no jump from one person to another


def test_single_person_keeps_the_plain_name(tmp_path):
    from export.tracks import TrackBvhSink
    from tests.test_export_fixtures import make_result, synthetic_motion
    a = synthetic_motion(frames=4)
    with TrackBvhSink(tmp_path / "out.bvh", fps=10.0) as sink:
        for i in range(4):
            sink.write(make_result(i, a[i], person_id=2))
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".bvh"] == ["out.bvh"]


def test_lifter_batch_is_estimate_for_one_and_covers_everyone():
    from lifter.api import Lifter
    from lifter.model import LifterModel, ModelConfig
    import torch
    torch.manual_seed(0)
    lifter = Lifter(LifterModel(ModelConfig(width=32, enc_layers=1, heads=2, ffn=32, cond_dim=64, hidden=64, blocks=1)))
    rng = np.random.default_rng(0)
    cands = [Candidates(rng.uniform(100, 300, (17, 4, 2)), rng.uniform(0.1, 1, (17, 4))) for _ in range(3)]
    one = lifter.estimate(cands[0], n=4, steps=2)
    batch = lifter.estimate_batch(cands, n=4, steps=2)
    assert len(batch) == 3 and all(e.hypotheses.shape == (4, 17, 3) for e in batch)
    np.testing.assert_allclose(batch[0].mean, one.mean, atol=1e-5)
    warm = lifter.estimate_batch(cands[:2], n=4, steps=2, inits=[one.mean, one.mean], init_t=100)
    assert len(warm) == 2 and np.isfinite(warm[1].mean).all()


class TwoPeople:
    """A fake front end: ids 0 and 1 for five frames, then 1 only (0 lost, still live), then 0's track ends."""

    def __init__(self):
        from tests.fakes_app import FakeFrontEnd
        self.one = FakeFrontEnd()

    def process(self, frame, state=None):
        from types import SimpleNamespace
        persons, st = self.one.process(frame, state)
        p = persons[0]
        other = Person(id=1, detection=p.detection, candidates=Candidates(p.candidates.xy + [120.0, 0.0],
                                                                           p.candidates.likelihood))
        live = {0, 1} if frame.index < 8 else {1}
        people = ([p] if frame.index < 5 else []) + [other]
        return people, SimpleNamespace(timings_ms=st.timings_ms, live_ids=live, restarted=lambda: None)


def test_per_person_state_follows_the_tracks():
    from pipeline.stages import Pipeline
    from tests.fakes_app import FakeLifter

    class BatchLifter(FakeLifter):
        def estimate_batch(self, cands, n=16, steps=5, inits=None, init_t=None):
            self.batches = getattr(self, "batches", []) + [len(cands)]
            return [self.estimate(c, n, steps) for c in cands]

    lifter = BatchLifter()
    pipe = Pipeline(frontend=TwoPeople(), lifter=lifter, hypotheses=4, steps=1)
    img = np.zeros((480, 640, 3), np.uint8)
    for i in range(10):
        result = pipe.process(Frame(i, i / 10, img))
        if i == 0:
            assert [p.id for p in result.persons] == [0, 1] and lifter.batches == [2]   # both in one call
        if i == 6:
            assert pipe._tracks.ids() == {0, 1}                   # 0 missed but its track goes on: state kept
    assert pipe._tracks.ids() == {1}                              # 0's track ended: its state is dropped
    roots = [pipe._tracks.get(1).root]
    assert roots[0] is not None
    only = Pipeline(frontend=TwoPeople(), lifter=FakeLifter(), hypotheses=4, steps=1, person=1)
    assert [p.id for p in only.process(Frame(0, 0.0, img)).persons] == [1]


def test_people_options_are_checked_and_reach_the_pipeline():
    from core.errors import ConfigError
    from pipeline.config import AppConfig, apply_options
    from pipeline.factory import build_pipeline
    from tests.fakes_app import FakeFrontEnd, FakeLifter
    with pytest.raises(ConfigError, match="--max-people"):
        apply_options(AppConfig(), max_people=0)
    cfg = apply_options(AppConfig(), max_people=3, person=2)
    pipe = build_pipeline(cfg, say=lambda *_: None, frontend=FakeFrontEnd(), lifter=FakeLifter())
    assert cfg.max_people == 3 and pipe.person == 2


def test_a_tile_filled_by_a_followed_person_is_not_scanned():
    from detectors.multi import covered
    assert covered((0, 0, 192), [np.array([-10, -10, 180, 200.0])])
    assert not covered((0, 0, 192), [np.array([0, 0, 60, 190.0])])      # a small person in the tile: scanned
    assert not covered((0, 0, 192), [])


def test_a_tile_detection_bigger_than_the_tile_or_centred_outside_it_is_dropped():
    from detectors.people import plausible

    def det(cx, cy, size):
        return Detection(score=0.9, bbox=np.array([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]),
                         roi=Roi(cx, cy, size))
    assert plausible(det(96, 96, 150), 192) and plausible(det(200, 96, 260), 192)   # in the tile / at its edge
    assert not plausible(det(96, 96, 500), 192)                  # many tiles wide: an echo of something bigger
    assert not plausible(det(-454, 54, 300), 192)                # centred far outside the tile
    assert plausible(det(-454, 54, 1700), 0)                     # the whole frame: any size
    # a middle tile keeps only people bigger than the small tiles see (vtest.avi: a 237-px detection between two
    # 70-px pedestrians, landmarks across both); the man of pose2sim's two-person demo is 800 px on a 960 tile
    from detectors.people import MID_LEAST, mid_side
    assert mid_side(768, 576) == 480 and mid_side(1088, 1920) == 960
    assert not plausible(det(240, 240, 237), 480, least=MID_LEAST) and plausible(det(240, 240, 237), 480)
    assert plausible(det(240, 240, 300), 480, least=MID_LEAST)


def test_messi_is_one_person():
    """messi5.jpg: one footballer filling the frame. A tile at the frame's top edge used to give a 1700-px detection
    centred outside itself, and the landmarks on it a second, false person over him."""
    import cv2
    from detectors.multi import MultiFrontEnd
    from pipeline.samples import SampleMissing, sample_path
    try:
        image = cv2.imread(str(sample_path("messi5.jpg")))
        vtest_or_skip()
    except SampleMissing as e:
        pytest.skip(f"sample media missing ({e})")
    fe = MultiFrontEnd(model="full", seed=0, num_threads=1, k=4)
    persons, _ = fe.process(Frame(0, 0.0, image), None)
    assert len(persons) == 1
    x0, y0, x1, y1 = persons[0].detection.bbox
    assert x0 > 50 and x1 < 480 and y0 > 50 and y1 < 342        # on the footballer (89-434 x 96-334 px)


def test_a_still_tile_is_not_scanned_again_until_something_moves():
    from detectors.people import still, thumbnail
    rng = np.random.default_rng(0)
    image = rng.integers(60, 200, (400, 400, 3)).astype(np.uint8)
    region = (100, 100, 192)
    before = thumbnail(image, region)
    noisy = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    assert still(before, thumbnail(noisy, region))                             # sensor noise
    assert still(before, thumbnail(np.clip(image.astype(int) + 30, 0, 255).astype(np.uint8), region))  # exposure
    walker = image.copy()
    walker[150:230, 180:210] = 20                                               # a 30x80 px dark figure walks in
    assert not still(before, thumbnail(walker, region))
    outside = image.copy()
    outside[0:80, 0:30] = 20                                                    # out of the tile: no change
    assert still(before, thumbnail(outside, region))


class CountingDetector:
    """A person detector that finds nobody and records the crops it was given."""

    def __init__(self):
        self.calls = []

    def detect_batch(self, crops):
        self.calls.append([c.shape[:2] for c in crops])
        return [[] for _ in crops]


class CountingLandmarks:
    """A landmark model that records how many ROIs it ran on (nobody present)."""

    def __init__(self):
        self.rois = 0

    def run(self, images, rois):
        from core.records import Landmarks
        self.rois += len(rois)
        return [Landmarks(roi=r, presence=0.0, landmarks=np.zeros((33, 5)), world=np.zeros((33, 3)),
                          heatmaps=np.zeros((39, 64, 64))) for r in rois]


def test_the_scan_costs_at_most_two_tiles_a_frame_and_skips_still_empty_tiles():
    from detectors.multi import MAX_TILES, MultiFrontEnd
    det = CountingDetector()
    fe = MultiFrontEnd(detector=det, landmark_model=CountingLandmarks(), scan_period_s=1.0)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (576, 768, 3)).astype(np.uint8)
    tiles = lambda call: sum(shape != (576, 768) for shape in call)   # noqa: E731  (crops, not the whole frame)
    state = fe.process(Frame(0, 0.0, image), None)[1]
    assert tiles(det.calls[-1]) == 4 + 20                 # a stream's first frame: the whole sweep (both levels)
    state = fe.process(Frame(1, 5.0, image), state)[1]    # a frame 5 s later (a slow live frame) ...
    assert tiles(det.calls[-1]) == 0                      # ... the scanned tiles found nobody and nothing moved
    yy, xx = np.mgrid[:576, :768]                         # everything changes: a 40-px checkerboard over it
    moved = (image // 2 + 120 * (((yy // 40 + xx // 40) % 2)[..., None])).astype(np.uint8)
    for i in range(2, 8):
        state = fe.process(Frame(i, 5.0 + 2.0 * i, moved), state)[1]
        assert 0 < tiles(det.calls[-1]) <= MAX_TILES      # ... at most two tiles however late the frame


def test_people_beyond_the_first_use_the_extra_landmark_model():
    from detectors.multi import MultiFrontEnd
    from core.records import Roi
    full, lite = CountingLandmarks(), CountingLandmarks()
    fe = MultiFrontEnd(detector=CountingDetector(), landmark_model=full, extra_landmark_model=lite, full_people=1)
    rgb = np.zeros((100, 100, 3), np.uint8)
    assert len(fe._landmarks(rgb, [Roi(50, 50, 40)] * 3, 1)) == 3 and (full.rois, lite.rois) == (1, 2)
    fe._landmarks(rgb, [Roi(50, 50, 40)] * 2, -1)         # new people after the first: all extra
    assert (full.rois, lite.rois) == (1, 4)
    alone = MultiFrontEnd(detector=CountingDetector(), landmark_model=full)   # no extra model: everyone full
    alone._landmarks(rgb, [Roi(50, 50, 40)] * 2, 0)
    assert full.rois == 3
