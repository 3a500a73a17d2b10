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

import numpy as np

from core.records import Detection, Roi
from detectors.pose_detector import PoseDetector, iou

TILE = 192        # px: a tile's side (people of 60-160 px fit; bigger ones are found on the whole frame)
STRIDE = 144      # px between tiles (48 px overlap, so a person cut by one tile's edge is whole in the next)
REFERENCE = 960   # px: frames with a longer side get proportionally bigger tiles (a 4K frame: 28 tiles, not 364)


def tile_regions(width: int, height: int, tile: int = TILE, stride: int = STRIDE) -> list[tuple[int, int, int]]:
    """(x, y, side) of the whole frame's square (side 0: the letterboxed whole frame) then of every tile, row by row;
    the last tile of a row/column is moved in to end at the frame's edge."""
    grow = max(1.0, max(width, height) / REFERENCE)
    tile, stride = int(round(tile * grow)), int(round(stride * grow))

    def starts(size: int) -> list[int]:
        if size <= tile:
            return [0]
        out = list(range(0, size - tile + 1, stride))
        return out if out[-1] + tile >= size else out + [size - tile]
    return [(0, 0, 0)] + [(x, y, tile) for y in starts(height) for x in starts(width)]


def shifted(det: Detection, dx: float, dy: float) -> Detection:
    """A detection made on a crop whose corner is at (dx, dy), in the frame's pixels."""
    roi = Roi(det.roi.cx + dx, det.roi.cy + dy, det.roi.size, det.roi.rotation)
    return replace(det, bbox=np.asarray(det.bbox) + [dx, dy, dx, dy], roi=roi,
                   keypoints=np.asarray(det.keypoints) + [dx, dy])


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

    def detect(self, image_bgr: np.ndarray, regions: list[tuple[int, int, int]]) -> list[Detection]:
        if not regions:
            return []
        crops = [image_bgr if side == 0 else image_bgr[y:y + side, x:x + side] for x, y, side in regions]
        found = self.detector.detect_batch(crops)
        return merge([shifted(d, x, y) for (x, y, _), dets in zip(regions, found) for d in dets])


def next_regions(count: int, cursor: int, per_frame: int) -> tuple[list[int], int]:
    """Round robin over `count` regions: (indices to scan this frame, the next cursor)."""
    per_frame = min(per_frame, count)
    idx = [(cursor + i) % count for i in range(per_frame)]
    return idx, (cursor + per_frame) % count if count else 0
