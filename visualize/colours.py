"""One colour per track id, the same in the 2D overlay and the 3D view (bones, box, label), so a person can be
followed from one to the other; 10 well-separated hues (Tableau 10), repeating after 10 ids."""
from __future__ import annotations

import cv2
import numpy as np

from core.camera import project
from core.skeleton import JOINT_INDEX

HEAD = JOINT_INDEX["head"]

PALETTE = np.array([(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)], float) / 255


def id_rgb(track_id: int) -> np.ndarray:
    """(3,) RGB 0..1 of a track id."""
    return PALETTE[int(track_id) % len(PALETTE)]


def id_bgr(track_id: int) -> tuple[int, int, int]:
    """OpenCV BGR 0..255 of a track id."""
    r, g, b = (id_rgb(track_id) * 255).round().astype(int)
    return int(b), int(g), int(r)


def draw_label(image: np.ndarray, track_id: int, xy, scale: float = 0.5) -> None:
    """'id N' in the id's colour on a light box, its bottom-left corner at xy (px), kept inside the image."""
    text = f"id {track_id}"
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = int(np.clip(round(float(xy[0])), 0, max(image.shape[1] - w - 2, 0)))
    y = int(np.clip(round(float(xy[1])), h + 2, image.shape[0] - base - 1))
    cv2.rectangle(image, (x - 1, y - h - 2), (x + w + 1, y + base), (245, 245, 245), -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, id_bgr(track_id), 1, cv2.LINE_AA)


def draw_id_labels(image: np.ndarray, people, extrinsic: np.ndarray, k: np.ndarray) -> None:
    """An 'id N' label above each person's head in a rendered 3D view. people: objects with .id and .joints
    (17, 3) world metres (visualize.scene.PersonScene); extrinsic: 4x4 world -> view camera; k: its 3x3 intrinsics."""
    for ps in people:
        top = np.asarray(ps.joints, float)[HEAD] + [0.0, 0.15, 0.0]
        cam = top @ extrinsic[:3, :3].T + extrinsic[:3, 3]
        if cam[2] > 0.05:
            u, v = project(cam, k)
            draw_label(image, ps.id, (u - 14, v))
