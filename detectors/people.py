"""Finding everyone in a frame with BlazePose's own person detector run on tiles.

The detector letterboxes its input to 224 px and keys on faces, so on a whole 768x576 frame an 80-px pedestrian
shrinks to 23 px and is missed (vtest.avi, 10 hand-counted frames: recall 0.02). On 192-px tiles (stride 144, each
upscaled to 224) the same detector finds small and back-facing people: recall 0.72 at precision 0.95
(`python -m tools.people_eval`, docs/multiperson.md has the comparison with OpenCV's HOG people detector and the
other options). A scan is costly (20 tiles on 768x576), so the multi-person front end spreads it over frames: a
few regions per frame, round robin (`Scanner.next_regions`), the whole frame being one of the regions.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.records import Detection, Roi
from detectors.pose_detector import PoseDetector, iou

TILE = 192        # px: a tile's side (people of 60-160 px fit; bigger ones are found on the whole frame)
STRIDE = 144      # px between tiles (48 px overlap, so a person cut by one tile's edge is whole in the next)
MID_TILE = 480    # px: the middle level's side, for people of about 160-400 px. On the whole frame the detector
MID_STRIDE = 288  # sees two such people side by side as one (pose2sim's two-person demo, cam02: a detection between
                  # them, whose landmarks land on one while the other is never followed); on a tile each is whole.
# A middle tile's detection must be bigger than the small tiles handle (their true detections are at most 1.4
# small tiles wide): on vtest.avi a middle tile over two 70-px pedestrians gave a 237-px detection between them,
# whose landmarks lay across both (a horizontal "person" whose root jumped 4.7 m).
MID_LEAST = 1.4 * TILE / MID_TILE
REFERENCE = 960   # px: frames with a longer side get proportionally bigger tiles (a 4K frame: 28 tiles, not 364)


def _grow(width: int, height: int) -> float:
    """How much bigger than at REFERENCE the tiles of a frame are."""
    return max(1.0, max(width, height) / REFERENCE)


def mid_side(width: int, height: int) -> int:
    """The middle level's tile side for a frame."""
    return int(round(MID_TILE * _grow(width, height)))


def tile_regions(width: int, height: int, tile: int = TILE, stride: int = STRIDE) -> list[tuple[int, int, int]]:
    """(x, y, side) of the whole frame's square (side 0: the letterboxed whole frame), then of the middle level's
    tiles (only where the frame is larger than one), then of every small tile, row by row; the last tile of a
    row/column is moved in to end at the frame's edge."""
    grow = _grow(width, height)

    def level(side: int, step: int) -> list[tuple[int, int, int]]:
        side, step = int(round(side * grow)), int(round(step * grow))

        def starts(size: int) -> list[int]:
            if size <= side:
                return [0]
            out = list(range(0, size - side + 1, step))
            return out if out[-1] + side >= size else out + [size - side]
        return [(x, y, side) for y in starts(height) for x in starts(width)]
    mid = level(MID_TILE, MID_STRIDE) if max(width, height) > mid_side(width, height) else []
    return [(0, 0, 0)] + mid + level(tile, stride)


def shifted(det: Detection, dx: float, dy: float) -> Detection:
    """A detection made on a crop whose corner is at (dx, dy), in the frame's pixels."""
    roi = Roi(det.roi.cx + dx, det.roi.cy + dy, det.roi.size, det.roi.rotation)
    return replace(det, bbox=np.asarray(det.bbox) + [dx, dy, dx, dy], roi=roi,
                   keypoints=np.asarray(det.keypoints) + [dx, dy])


def plausible(det: Detection, side: int, grow: float = 2.0, margin: float = 0.25, least: float = 0.0) -> bool:
    """Whether a detection made on a tile of `side` px (in the tile's pixels; side 0: the whole frame, always true)
    can be a person in that tile: its ROI at most `grow` tiles wide (and at least `least` of one) and centred (at the
    hip) within the tile widened by `margin` of its side. On vtest's
    counted frames every true tile detection is at most 1.4 tiles wide and centred at most 0.1 sides out; a face-like
    patch at a tile's edge can give a detection many times the tile's size centred far outside it (on messi5.jpg a
    1700-px ROI from a 192-px tile: a second, false person over the footballer)."""
    if side == 0:
        return True
    lo, hi = -margin * side, (1 + margin) * side
    return least * side <= det.roi.size <= grow * side and lo <= det.roi.cx <= hi and lo <= det.roi.cy <= hi


def merge(dets: list[Detection], iou_threshold: float = 0.3) -> list[Detection]:
    """One detection per person where tiles overlap: the best-scoring one of each group of overlapping boxes."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if not kept or iou(np.asarray(d.bbox, float), np.array([k.bbox for k in kept], float)).max() <= iou_threshold:
            kept.append(d)
    return kept


@dataclass
class Scanner:
    """BlazePose's detector over tiles of the frame. `detect(image, regions)` runs the given regions in one batch."""
    detector: PoseDetector
    tile: int = TILE
    stride: int = STRIDE

    def regions(self, width: int, height: int) -> list[tuple[int, int, int]]:
        return tile_regions(width, height, self.tile, self.stride)

    def detect_regions(self, image_bgr: np.ndarray, regions: list[tuple[int, int, int]]) -> list[list[Detection]]:
        """Per region, its plausible detections in the frame's pixels (not merged across regions), in one batch."""
        if not regions:
            return []
        crops = [image_bgr if side == 0 else image_bgr[y:y + side, x:x + side] for x, y, side in regions]
        found = self.detector.detect_batch(crops)
        mid = mid_side(image_bgr.shape[1], image_bgr.shape[0])
        return [[shifted(d, x, y) for d in dets if plausible(d, side, least=MID_LEAST if side == mid else 0.0)]
                for (x, y, side), dets in zip(regions, found)]

    def detect(self, image_bgr: np.ndarray, regions: list[tuple[int, int, int]]) -> list[Detection]:
        """The detections of all the regions, merged where tiles overlap."""
        return merge([d for dets in self.detect_regions(image_bgr, regions) for d in dets])


def thumbnail(image_bgr: np.ndarray, region: tuple[int, int, int], size: int = 16) -> np.ndarray:
    """(size, size) grey levels of a tile (x, y, side), area-averaged: sensor noise averages out, a person does not."""
    x, y, side = region
    grey = cv2.cvtColor(image_bgr[y:y + side, x:x + side], cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)


def still(before: np.ndarray, now: np.ndarray, threshold: float = 8.0) -> bool:
    """Whether no cell of a tile's thumbnail changed by more than `threshold` grey levels beyond the tile's overall
    brightness change (a camera's exposure moving all cells together is not a change)."""
    d = now - before
    return float(np.abs(d - np.median(d)).max()) <= threshold


def next_regions(count: int, cursor: int, per_frame: int) -> tuple[list[int], int]:
    """Round robin over `count` regions: (indices to scan this frame, the next cursor)."""
    per_frame = min(per_frame, count)
    idx = [(cursor + i) % count for i in range(per_frame)]
    return idx, (cursor + per_frame) % count if count else 0
