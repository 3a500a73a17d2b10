"""BlazePose detector and landmark decoding: MediaPipe's rules on synthetic data, then the real models on messi5."""
import math

import numpy as np
import pytest

from detectors.landmarks import decode_landmarks, refine_from_heatmap
from detectors.pose_detector import (alignment_roi, decode_raw, detector_input, iou, letterbox_matrix,
                                     ssd_anchor_centres, weighted_nms)
from core.records import Roi


def real_models_or_skip():
    from weights.fetch import WeightsMissing, model_path

    try:
        return model_path("pose_detection"), model_path("pose_landmark_full")
    except WeightsMissing as e:
        pytest.skip(f"BlazePose weights not fetched ({e})")


def messi_or_skip():
    import cv2

    from pipeline.samples import SampleMissing, sample_path

    try:
        return cv2.imread(str(sample_path("messi5.jpg")))
    except SampleMissing as e:
        pytest.skip(f"sample media missing ({e})")


def test_anchors_follow_ssd_layout():
    a = ssd_anchor_centres()
    assert a.shape == (2254, 2)
    # stride 8: 28x28 cells, 2 anchors per cell (aspect 1 + interpolated scale), row-major, y outer
    assert np.allclose(a[0], [0.5 / 28, 0.5 / 28]) and np.allclose(a[1], a[0])
    assert np.allclose(a[2], [1.5 / 28, 0.5 / 28])
    assert np.allclose(a[2 * 28], [0.5 / 28, 1.5 / 28])
    # the three stride-32 layers share one 7x7 map with 6 anchors per cell
    tail = a[28 * 28 * 2 + 14 * 14 * 2:]
    assert len(tail) == 7 * 7 * 6 and np.allclose(tail[:6], [0.5 / 7, 0.5 / 7])


def test_letterbox_keeps_aspect_and_centres_the_image():
    m = letterbox_matrix(548, 342)
    corners = np.array([[0, 0, 1], [224, 224, 1]]) @ m.T
    assert np.allclose(corners, [[0, -103], [548, 445]])
    img = np.full((342, 548, 3), 255, np.uint8)
    x, _ = detector_input(img)
    assert x.shape == (224, 224, 3) and x.dtype == np.float32
    assert np.isclose(x[112, 112], 1.0).all() and np.isclose(x[2, 112], -1.0).all()  # padding is black -> -1


def test_decode_uses_anchor_offsets_in_input_pixels():
    anchors = np.array([[0.25, 0.5], [0.75, 0.75]], np.float32)
    raw = np.zeros((2, 12), np.float32)
    raw[0, :4] = [22.4, -11.2, 44.8, 22.4]          # centre offset (0.1, -0.05), size (0.2, 0.1)
    raw[0, 4:6] = [0.0, 22.4]                        # keypoint 0 at anchor + (0, 0.1)
    scores, boxes, kps = decode_raw(raw, np.array([[0.0], [1000.0]]), anchors)
    assert np.allclose(scores, [0.5, 1.0])           # logit clipped at 100 -> sigmoid 1
    assert np.allclose(boxes[0], [0.25, 0.4, 0.45, 0.5])
    assert np.allclose(kps[0, 0], [0.25, 0.6]) and np.allclose(kps[1, 3], [0.75, 0.75])


def test_weighted_nms_merges_overlaps_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = np.zeros((3, 4, 2))
    kps[:, 0, 0] = [0.0, 10.0, 55.0]
    scores = np.array([0.9, 0.6, 0.7])
    out = weighted_nms(scores, boxes, kps, 0.3)
    assert [round(s, 3) for s, _, _ in out] == [0.9, 0.7]
    assert np.allclose(out[0][1], [0.4, 0, 10.4, 10])        # (0.9 * 0 + 0.6 * 1) / 1.5
    assert np.isclose(out[0][2][0, 0], 4.0)
    assert np.allclose(out[1][1], boxes[2])
    assert np.allclose(iou(boxes[0], boxes[1:]), [9 / 11, 0])


@pytest.mark.parametrize("angle", [0.0, 0.7, -2.5, math.pi])
def test_alignment_roi_puts_scale_point_straight_up_in_the_crop(angle):
    centre = np.array([300.0, 200.0])
    d = 80.0
    # scale point at `angle` from "up" (clockwise in the image)
    scale_point = centre + d * np.array([math.sin(angle), -math.cos(angle)])
    roi = alignment_roi(centre, scale_point)
    assert math.isclose(roi.size, 2 * d * 1.25)
    m = roi.image_to_crop(256)
    crop = m[:, :2] @ scale_point + m[:, 2]
    assert np.allclose(crop, [128, 128 - 128 / 1.25], atol=1e-6)
    assert np.allclose(m[:, :2] @ centre + m[:, 2], [128, 128])


def gaussian_logits(h, w, cx, cy, sigma=1.5, peak=6.0):
    yy, xx = np.mgrid[0:h, 0:w]
    p = 0.98 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)) + 1e-4
    return np.log(p / (1 - p))


def test_refine_moves_to_heatmap_mean_only_when_confident():
    heat = np.stack([gaussian_logits(64, 64, 20.0, 30.0), gaussian_logits(64, 64, 40, 10, peak=0) - 20,
                     gaussian_logits(64, 64, 5, 5)], axis=-1)
    xy = np.array([[20.6 / 64, 30.4 / 64], [40.0 / 64, 10.0 / 64], [-0.1, 0.1]])
    out = refine_from_heatmap(xy, heat)
    assert np.allclose(out[0] * 64, [20.0, 30.0], atol=0.01)  # symmetric 7x7 window around the peak
    assert np.allclose(out[1], xy[1])      # max sigmoid < 0.5: unchanged
    assert np.allclose(out[2], xy[2])      # outside the map: unchanged


def test_decode_landmarks_maps_crop_to_image_and_rotates_world():
    roi = Roi(cx=100.0, cy=50.0, size=128.0, rotation=math.pi / 2)
    raw = np.zeros((39, 5), np.float32)
    raw[:, 0], raw[:, 1] = 128.0, 64.0            # crop point above the centre
    raw[:, 3] = 10.0
    world = np.zeros((39, 3), np.float32)
    world[:, 0] = 1.0
    heat = np.full((64, 64, 39), -20.0, np.float32)  # no refinement
    out = {"Identity": raw.reshape(-1), "Identity_1": np.array([0.9]), "Identity_3": heat,
           "Identity_4": world.reshape(-1)}
    lm = decode_landmarks(out, roi)
    # crop "up" is image "right" at +90 deg: 64 crop px above the centre = 32 image px right
    assert np.allclose(lm.landmarks[0, :2], [132.0, 50.0])
    assert np.isclose(lm.presence, 0.9) and lm.landmarks[0, 3] > 0.99
    assert np.allclose(lm.world[0], [0.0, 1.0, 0.0], atol=1e-6)
    assert lm.heatmaps.shape == (39, 64, 64) and lm.aux.shape == (6, 2) and lm.landmarks.shape == (33, 5)


def test_real_detector_and_landmarks_on_messi():
    import cv2

    from detectors.landmarks import LandmarkModel
    from detectors.pose_detector import PoseDetector

    det_path, lm_path = real_models_or_skip()
    img = messi_or_skip()
    dets = PoseDetector.load(det_path).detect(img)
    assert len(dets) == 1 and dets[0].score > 0.9
    d = dets[0]
    lm = LandmarkModel.load("full", path=lm_path).run([cv2.cvtColor(img, cv2.COLOR_BGR2RGB)], [d.roi])[0]
    assert lm.presence > 0.9
    mid_hip = lm.landmarks[[23, 24], :2].mean(0)
    assert np.linalg.norm(d.keypoints[0] - mid_hip) < 15       # detector keypoint 0 is the hip centre
    assert np.linalg.norm(lm.aux[0] - mid_hip) < 15            # so is helper point 33
    assert abs(d.roi.rotation) < 0.5 and 300 < d.roi.size < 550
    # every body landmark inside the image; the ROI contains them
    xy = lm.landmarks[:, :2]
    assert (xy > -5).all() and (xy[:, 0] < 553).all() and (xy[:, 1] < 347).all()
    # heatmap peak (cell c -> crop px 4c) agrees with the regressed landmark
    m = d.roi.image_to_crop(256)
    crop = xy @ m[:, :2].T + m[:, 2]
    peaks = np.array([np.unravel_index(h.argmax(), h.shape)[::-1] for h in lm.heatmaps[:33]]) * 4.0
    assert np.median(np.linalg.norm(peaks - crop, axis=1)) < 4.0
