"""Draw the 2D front end's output on a BGR image: skeleton (our 17 joints), BlazePose landmarks, joint candidates
(dot radius grows with likelihood) and an optional heatmap tint."""
from __future__ import annotations

import cv2
import numpy as np

from core.records import Candidates, Landmarks, Person
from core.skeleton import BONES, LEFT, NUM_JOINTS, RIGHT
from detectors.joint_map import USED, map_points
from visualize.colours import draw_label, id_bgr

# BGR per joint: subject's left green, right orange, centre line blue.
JOINT_COLORS = tuple(
    (80, 200, 80) if j in LEFT else (40, 140, 255) if j in RIGHT else (255, 160, 60) for j in range(NUM_JOINTS)
)


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw_skeleton(image: np.ndarray, xy17: np.ndarray, thickness: int = 2, bone_colour=None) -> np.ndarray:
    """Bones in bone_colour (a person's id colour) or by side; joints by side (left green, right orange)."""
    for parent, child in BONES:
        colour = JOINT_COLORS[child] if bone_colour is None else bone_colour
        cv2.line(image, _pt(xy17[parent]), _pt(xy17[child]), colour, thickness, cv2.LINE_AA)
    for j in range(NUM_JOINTS):
        cv2.circle(image, _pt(xy17[j]), thickness + 2, JOINT_COLORS[j], -1, cv2.LINE_AA)
    return image


def draw_landmarks(image: np.ndarray, landmarks: Landmarks, min_visibility: float = 0.0) -> np.ndarray:
    for x, y, _, vis, _ in landmarks.landmarks:
        if vis >= min_visibility:
            cv2.circle(image, _pt((x, y)), 2, (255, 255, 255), -1, cv2.LINE_AA)
    return image


def draw_candidates(image: np.ndarray, candidates: Candidates, max_radius: float = 4.0) -> np.ndarray:
    lik = candidates.likelihood
    top = max(float(lik.max()), 1e-6)
    for j in range(candidates.xy.shape[0]):
        for (x, y), v in zip(candidates.xy[j], lik[j]):
            r = max(1, int(round(max_radius * float(v) / top)))
            cv2.circle(image, _pt((x, y)), r, JOINT_COLORS[j], 1, cv2.LINE_AA)
    return image


def heatmap_tint(image: np.ndarray, landmarks: Landmarks, alpha: float = 0.5, crop_px: int = 256) -> np.ndarray:
    """Blend the max over the used joints' sigmoid heatmaps, warped back into the image, as a colour map."""
    heat = 1.0 / (1.0 + np.exp(-landmarks.heatmaps[list(USED)].astype(np.float32)))
    hmax = heat.max(0)
    cell = crop_px / hmax.shape[-1]
    m = landmarks.roi.crop_to_image(crop_px)
    cell_to_image = np.concatenate([m[:, :2] * cell, m[:, 2:]], axis=1)
    h, w = image.shape[:2]
    warped = cv2.warpAffine(hmax, cell_to_image, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    color = cv2.applyColorMap(np.clip(warped * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    a = (alpha * np.clip(warped, 0, 1))[..., None]
    image[:] = (image * (1 - a) + color * a).astype(np.uint8)
    return image


def draw_persons(image_bgr: np.ndarray, persons: list[Person], heatmap: bool = False,
                 landmarks: bool = True, candidates: bool = True, roi: bool = True) -> np.ndarray:
    """A copy of the image with every person's 2D results drawn: ROI, bones and an 'id N' label in the person's id
    colour (visualize.colours, the same as in the 3D view)."""
    out = image_bgr.copy()
    for p in persons:
        colour = id_bgr(p.id)
        if heatmap and p.landmarks is not None:
            heatmap_tint(out, p.landmarks)
        if roi and p.detection is not None:
            m = p.detection.roi.crop_to_image(1)
            corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float) @ m[:, :2].T + m[:, 2]
            cv2.polylines(out, [np.round(corners).astype(np.int32)], True, colour, 1, cv2.LINE_AA)
        if candidates and p.candidates is not None:
            draw_candidates(out, p.candidates)
        if p.landmarks is not None:
            if landmarks:
                draw_landmarks(out, p.landmarks)
            draw_skeleton(out, map_points(p.landmarks.landmarks[:, :2]), bone_colour=colour)
        if p.detection is not None:
            box = np.asarray(p.detection.bbox, float)
            draw_label(out, p.id, (box[0], box[1] - 4))
    return out
