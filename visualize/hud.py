"""Heads-up display on the 2D window: FPS, latency, hypotheses, steps and anything else, one line each."""
from __future__ import annotations

import cv2
import numpy as np


def hud_lines(fps: float | None = None, latency_ms: float | None = None, hypotheses: int | None = None,
              steps: int | None = None, dropped: int | None = None, extra: dict | None = None) -> list[str]:
    lines = []
    if fps is not None:
        lines.append(f"FPS {fps:5.1f}")
    if latency_ms is not None:
        lines.append(f"latency {latency_ms:5.0f} ms")
    if hypotheses is not None or steps is not None:
        lines.append(f"hypotheses {hypotheses}  steps {steps}")
    if dropped is not None:
        lines.append(f"dropped {dropped}")
    for k, v in (extra or {}).items():
        lines.append(f"{k} {v}")
    return lines


def draw_hud(image: np.ndarray, lines: list[str], scale: float | None = None) -> np.ndarray:
    """Draw `lines` in a translucent box at the top left of `image` (in place; also returned)."""
    if not lines:
        return image
    h = image.shape[0]
    scale = scale or max(0.4, min(1.0, h / 900))
    thick = 1 if scale < 0.7 else 2
    (tw, th), base = cv2.getTextSize("Mg", cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    step = th + base + 4
    width = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0] for t in lines) + 12
    box_h = step * len(lines) + 6
    x1, y1 = min(width, image.shape[1]), min(box_h, h)
    roi = image[:y1, :x1]
    roi[:] = (roi.astype(np.float32) * 0.45).astype(np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(image, text, (6, 4 + th + i * step), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                    cv2.LINE_AA)
    return image
