"""BlazePose person detector, decoded as MediaPipe's pose_detection graph does (mediapipe 0.10.14).

Graph facts this follows (pose_detection_cpu.pbtxt, pose_detection_to_roi.pbtxt):
- input: the whole RGB image letterboxed (aspect kept, zero border) to 224x224, values in [-1, 1];
- SSD anchors: 5 layers, strides 8/16/32/32/32, aspect 1.0 plus the interpolated-scale anchor, offsets 0.5,
  fixed anchor size (so only anchor centres matter): 28*28*2 + 14*14*2 + 7*7*6 = 2254 anchors;
- decoding: raw values are 224-px offsets from the anchor centre (x, y order), box w/h likewise; 4 keypoints
  (0 hip centre, 1 full-body size/rotation point, 2 shoulder centre, 3 upper-body point);
- score: sigmoid of the logit clipped to +-100, kept when >= 0.5 (mp.solutions.pose's min_detection_confidence);
- weighted NMS, IoU > 0.3 suppresses; a kept detection's box and keypoints are the score-weighted mean of the
  ones it suppresses (its score stays the top score);
- ROI: centre at keypoint 0, side 2 * |kp1 - kp0| scaled by 1.25, rotated so kp0 -> kp1 points up (90 deg).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.records import Detection, Roi
from detectors.runtime import load_model
from weights.fetch import model_path

INPUT_SIZE = 224
NUM_KEYPOINTS = 4
ROI_SCALE = 1.25
TARGET_ANGLE = math.pi / 2


def ssd_anchor_centres(
    input_size: int = INPUT_SIZE,
    strides: tuple[int, ...] = (8, 16, 32, 32, 32),
    aspect_ratios: tuple[float, ...] = (1.0,),
    interpolated_scale: bool = True,
    offset: float = 0.5,
) -> np.ndarray:
    """(N, 2) anchor centres (x, y) normalised to 0..1, in MediaPipe's SsdAnchorsCalculator order.

    Consecutive layers with the same stride share one feature map; each layer adds one anchor per aspect ratio
    plus one interpolated-scale anchor. With fixed_anchor_size every anchor is 1 x 1, so only centres matter.
    """
    out = []
    layer = 0
    while layer < len(strides):
        per_cell = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += len(aspect_ratios) + (1 if interpolated_scale else 0)
            last += 1
        n = math.ceil(input_size / strides[layer])
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        centres = np.stack([(xs + offset) / n, (ys + offset) / n], axis=-1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
        layer = last
    return np.concatenate(out).astype(np.float32)


def letterbox_matrix(width: int, height: int, size: int = INPUT_SIZE) -> np.ndarray:
    """2x3 affine tensor px -> image px for the aspect-keeping letterbox (image centred, padding on both sides)."""
    side = float(max(width, height))
    k = side / size
    return np.array([[k, 0.0, width / 2.0 - side / 2.0], [0.0, k, height / 2.0 - side / 2.0]])


def detector_input(image_bgr: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """BGR uint8 image -> ((size, size, 3) float32 RGB in [-1, 1], 2x3 tensor px -> image px affine)."""
    h, w = image_bgr.shape[:2]
    m = letterbox_matrix(w, h, size)
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    # Warp the uint8 image first (as MediaPipe's OpenCV converter does), then scale to the float range.
    crop = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return crop.astype(np.float32) * (2.0 / 255.0) - 1.0, m


def decode_raw(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
               size: int = INPUT_SIZE, score_clip: float = 100.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model outputs for one image -> (scores (N,), boxes (N, 4) x0 y0 x1 y1, keypoints (N, 4, 2)), all
    in normalised tensor coordinates (0..1 over the 224 input)."""
    raw_boxes = raw_boxes.reshape(len(anchors), -1)
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -score_clip, score_clip)
    scores = 1.0 / (1.0 + np.exp(-logits))
    centre = raw_boxes[:, 0:2] / size + anchors
    half = raw_boxes[:, 2:4] / size / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    kps = raw_boxes[:, 4:4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) / size + anchors[:, None]
    return scores, boxes, kps


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box (4,) against boxes (N, 4); 0 where they do not overlap."""
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, kps: np.ndarray, iou_threshold: float = 0.3
                 ) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's WEIGHTED non-max suppression: highest score first; every remaining detection with IoU above
    the threshold (the top one included) is merged by a score-weighted mean of box and keypoints."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while len(order):
        top = order[0]
        sim = iou(boxes[top], boxes[order])
        group, order = order[sim > iou_threshold], order[sim <= iou_threshold]
        if len(group) == 0:  # cannot happen for a box with positive area; kept for degenerate boxes
            group, order = order[:1], order[1:]
        w = scores[group][:, None]
        box = (boxes[group] * w).sum(0) / w.sum()
        kp = (kps[group] * w[:, :, None]).sum(0) / w.sum()
        out.append((float(scores[top]), box, kp))
    return out


def normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def alignment_roi(centre: np.ndarray, scale_point: np.ndarray, scale: float = ROI_SCALE,
                  target_angle: float = TARGET_ANGLE) -> Roi:
    """MediaPipe's AlignmentPointsRectsCalculator + RectTransformationCalculator(square_long) in image px.

    Side = 2 * |scale_point - centre| * scale; rotation turns the centre -> scale point vector to point up.
    Used for both the detector's keypoints (0, 1) and the landmark model's helper points (33, 34)."""
    dx, dy = float(scale_point[0] - centre[0]), float(scale_point[1] - centre[1])
    side = 2.0 * math.hypot(dx, dy) * scale
    rotation = normalize_radians(target_angle - math.atan2(-dy, dx))
    return Roi(cx=float(centre[0]), cy=float(centre[1]), size=side, rotation=rotation)


def roi_bbox(roi: Roi, scale: float = 1.0 / ROI_SCALE) -> np.ndarray:
    """Axis-aligned body box (x0, y0, x1, y1) around the ROI square shrunk by `scale` (default: without the
    1.25 margin, i.e. the square of side 2 * |kp1 - kp0| around the hip centre). The detector's own box is the
    face box, so records.Detection.bbox carries this one instead."""
    m = roi.crop_to_image(1)
    corners = (np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float) - 0.5) * scale + 0.5
    pts = corners @ m[:, :2].T + m[:, 2]
    return np.concatenate([pts.min(0), pts.max(0)])


@dataclass
class DetectorConfig:
    min_score: float = 0.5
    nms_iou: float = 0.3
    max_detections: int = 0  # 0: all


class PoseDetector:
    """Runs pose_detection.tflite on whole images and returns Detections sorted by score (best first)."""

    def __init__(self, model, config: DetectorConfig | None = None):
        """model: a callable from detectors.runtime.load_model (batch -> {name: array})."""
        self.model = model
        self.config = config or DetectorConfig()
        self.anchors = ssd_anchor_centres()

    @classmethod
    def load(cls, path: str | Path | None = None, runtime: str = "litert", device: str = "cpu",
             config: DetectorConfig | None = None, num_threads: int = 2) -> "PoseDetector":
        path = path or model_path("pose_detection")
        return cls(load_model(path, runtime=runtime, device=device, num_threads=num_threads), config)

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        return self.detect_batch([image_bgr])[0]

    def detect_batch(self, images_bgr: list[np.ndarray]) -> list[list[Detection]]:
        if not images_bgr:
            return []
        inputs, mats = zip(*(detector_input(im) for im in images_bgr))
        out = self.model(np.stack(inputs))
        return [self._decode(out["Identity"][i], out["Identity_1"][i], mats[i]) for i in range(len(mats))]

    def _decode(self, raw_boxes: np.ndarray, raw_scores: np.ndarray, tensor_to_image: np.ndarray) -> list[Detection]:
        cfg = self.config
        scores, boxes, kps = decode_raw(raw_boxes, raw_scores, self.anchors)
        keep = scores >= cfg.min_score
        merged = weighted_nms(scores[keep], boxes[keep], kps[keep], cfg.nms_iou)
        if cfg.max_detections > 0:
            merged = merged[: cfg.max_detections]
        a, t = tensor_to_image[:, :2] * INPUT_SIZE, tensor_to_image[:, 2]
        dets = []
        for score, box, kp in merged:
            kp_img = kp @ a.T + t
            roi = alignment_roi(kp_img[0], kp_img[1])
            dets.append(Detection(score=score, bbox=roi_bbox(roi), roi=roi, keypoints=kp_img))
        return dets
