"""User toggles shared by the windows and the runner (keys: q quit, space pause, h hypotheses, e ellipsoids,
r reset view)."""
from __future__ import annotations

import os
from dataclasses import dataclass

KEY_HELP = "keys: q quit, space pause, h hypotheses, e ellipsoids, r reset view"


@dataclass
class Controls:
    quit: bool = False
    paused: bool = False
    hypotheses: bool = True
    ellipsoids: bool = True
    reset_view: bool = False

    def key(self, key: str) -> bool:
        """Apply one key press ('q', ' ', 'h', 'e', 'r'; Esc counts as q); True when it meant something."""
        k = key.lower()
        if k in ("q", "\x1b"):
            self.quit = True
        elif k == " ":
            self.paused = not self.paused
        elif k == "h":
            self.hypotheses = not self.hypotheses
        elif k == "e":
            self.ellipsoids = not self.ellipsoids
        elif k == "r":
            self.reset_view = True
        else:
            return False
        return True


def has_display() -> bool:
    """A window can be opened (X11 or Wayland); without one, cv2.imshow would abort the process."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
