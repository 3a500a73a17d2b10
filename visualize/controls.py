"""User toggles shared by the windows and the runner (keys: q quit, space pause, h hypotheses, e ellipsoids
off / 50 % / 90 %, r reset view)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from scipy.stats import chi2

KEY_HELP = "keys: q quit, space pause, h hypotheses, e ellipsoids off/50/90 %, r reset view"
ELLIPSOID_MODES = ("off", "50", "90")   # uncertainty display: none, 50 % or 90 % ellipsoids (the key e cycles)


def ellipsoid_chi2(mode: str) -> float:
    """The chi2(3) quantile scaling a covariance into the mode's ellipsoid (0 for off)."""
    return 0.0 if mode == "off" else float(chi2.ppf(int(mode) / 100.0, 3))


@dataclass
class Controls:
    quit: bool = False
    paused: bool = False
    hypotheses: bool = True
    ellipsoids: str = "50"      # one of ELLIPSOID_MODES (True / False: "90" / "off")
    reset_view: bool = False

    def __post_init__(self) -> None:
        self.ellipsoids = self.mode

    @property
    def mode(self) -> str:
        """The ellipsoid mode (a bool set by older code: True = "90", False = "off")."""
        e = self.ellipsoids
        return ("90" if e else "off") if isinstance(e, bool) else str(e)

    @property
    def show_ellipsoids(self) -> bool:
        return self.mode != "off"

    @property
    def chi2(self) -> float:
        return ellipsoid_chi2(self.mode)

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
            self.ellipsoids = ELLIPSOID_MODES[(ELLIPSOID_MODES.index(self.mode) + 1) % len(ELLIPSOID_MODES)]
        elif k == "r":
            self.reset_view = True
        else:
            return False
        return True


def has_display() -> bool:
    """A window can be opened (X11 or Wayland); without one, cv2.imshow would abort the process."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
