"""BlazePose landmark model on rotated ROIs, decoded as MediaPipe's pose_landmark_by_roi graph does (0.10.14).

Graph facts this follows (pose_landmark_by_roi_cpu.pbtxt, tensors_to_pose_landmarks_and_segmentation.pbtxt):
- input: the ROI warped to 256x256 RGB (bilinear, replicated border: ImageToTensor's default), values in [0, 1];
- Identity (195) = 39 landmarks x (x, y, z, visibility logit, presence logit), x/y/z in crop px;
- Identity_1 = pose presence, already a probability (the graph thresholds it at 0.5 with no activation);
- Identity_3 (64, 64, 39) heatmap logits: RefineLandmarksFromHeatmap moves each landmark to the sigmoid-weighted
  mean cell of the 7x7 window around it when the window's max is >= 0.5 (cell c <-> crop px 4c);
- crop -> image by the ROI affine; z scales like x; world landmarks (metres) are rotated by the ROI rotation.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.records import Landmarks, Roi
from detectors.runtime import load_model
from weights.fetch import model_path

INPUT_SIZE = 256
NUM_LANDMARKS = 39
NUM_POSE = 33
MODELS = ("lite", "full", "heavy")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def crop_roi(image_rgb: np.ndarray, roi: Roi, size: int = INPUT_SIZE) -> np.ndarray:
    """(size, size, 3) float32 in [0, 1]: crop px (0..size, pixel centres at integers) <-> roi.crop_to_image."""
    crop = cv2.warpAffine(image_rgb, roi.crop_to_image(size), (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return crop.astype(np.float32) * (1.0 / 255.0)


def refine_from_heatmap(xy_norm: np.ndarray, heat_hwc: np.ndarray, kernel: int = 7,
                        min_confidence: float = 0.5) -> np.ndarray:
    """MediaPipe's RefineLandmarksFromHeatmap on normalised crop coordinates (L, 2) with heatmap logits (H, W, L).

    Kept faithful to the reference, including its bounds test (the row is not checked against the height), for all
    landmarks at once: each landmark's window is gathered (cells outside the map weigh 0)."""
    h, w, n = heat_hwc.shape
    out = xy_norm.copy()
    off = (kernel - 1) // 2
    col = np.trunc(xy_norm[:, 0] * w).astype(np.int64)   # C++ float -> int truncates toward zero
    row = np.trunc(xy_norm[:, 1] * h).astype(np.int64)
    valid = (col >= 0) & (col < w) & (row >= 0) & (col < h)
    d = np.arange(-off, off + 1)
    rows, cols = row[:, None] + d, col[:, None] + d                       # (L, kernel)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    logits = heat_hwc[rows.clip(0, h - 1)[:, :, None], cols.clip(0, w - 1)[:, None, :], np.arange(n)[:, None, None]]
    conf = np.where(inside, sigmoid(logits.astype(np.float64)), 0.0)    # (L, kernel, kernel)
    total = conf.sum((1, 2))
    use = valid & (conf.max((1, 2)) >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    x = (conf * cols[:, None, :]).sum((1, 2)) / w / safe
    y = (conf * rows[:, :, None]).sum((1, 2)) / h / safe
    out[use, 0], out[use, 1] = x[use], y[use]
    return out


def decode_landmarks(out: dict[str, np.ndarray], roi: Roi, refine: bool = True,
                     size: int = INPUT_SIZE) -> Landmarks:
    """One item of the model's outputs (no batch axis) -> Landmarks in image px."""
    raw = np.asarray(out["Identity"], dtype=np.float64).reshape(NUM_LANDMARKS, 5)
    heat_hwc = np.asarray(out["Identity_3"], dtype=np.float32).reshape(size // 4, size // 4, NUM_LANDMARKS)
    xy = raw[:, :2] / size
    if refine:
        xy = refine_from_heatmap(xy, heat_hwc)
    m = roi.crop_to_image(size)
    img_xy = (xy * size) @ m[:, :2].T + m[:, 2]
    z = raw[:, 2] * (roi.size / size)  # image-px scale, like x
    lms = np.column_stack([img_xy, z, sigmoid(raw[:, 3]), sigmoid(raw[:, 4])])
    world = np.asarray(out["Identity_4"], dtype=np.float64).reshape(NUM_LANDMARKS, 3)[:NUM_POSE].copy()
    c, s = np.cos(roi.rotation), np.sin(roi.rotation)
    world[:, :2] = world[:, :2] @ np.array([[c, -s], [s, c]]).T
    return Landmarks(
        roi=roi,
        presence=float(np.asarray(out["Identity_1"]).reshape(-1)[0]),
        landmarks=lms[:NUM_POSE],
        world=world,
        heatmaps=np.ascontiguousarray(heat_hwc.transpose(2, 0, 1)),
        aux=img_xy[NUM_POSE:],
    )


class LandmarkModel:
    """pose_landmark_{lite,full,heavy}.tflite on any number of ROIs (one batched call per image set)."""

    def __init__(self, model, refine: bool = True):
        self.model = model
        self.refine = refine

    @classmethod
    def load(cls, name: str = "full", path: str | Path | None = None, runtime: str = "litert",
             device: str = "cpu", num_threads: int = 2) -> "LandmarkModel":
        if name not in MODELS:
            raise ValueError(f"unknown landmark model {name!r}; choose one of {', '.join(MODELS)}")
        path = path or model_path(f"pose_landmark_{name}")
        return cls(load_model(path, runtime=runtime, device=device, num_threads=num_threads))

    def run(self, images_rgb: list[np.ndarray], rois: list[Roi]) -> list[Landmarks]:
        """images_rgb[i] is the RGB image of rois[i] (the same image may repeat for several people)."""
        if not rois:
            return []
        batch = np.stack([crop_roi(im, roi) for im, roi in zip(images_rgb, rois)])
        out = self.model(batch)
        return [decode_landmarks({k: v[i] for k, v in out.items()}, roi, self.refine) for i, roi in enumerate(rois)]
