"""The lifter's input normalisation: one function shared by the simulator, the model and the runtime.

Candidates in image pixels are expressed in a square box around the 17 candidate-0 peaks (1.2 x their extent), so
the lifter sees roughly [-1, 1] whatever the image size, person size or position.
"""
from __future__ import annotations

import numpy as np
import torch

from core.records import Candidates
from detectors.candidates import crop_box, normalise_to_box

BOX_SCALE = 1.2


def normalise_candidates(
    xy_px: torch.Tensor, lik: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """xy_px (..., 17, K, 2) image px, lik (..., 17, K) -> (xy_norm (..., 17, K, 2), lik (..., 17, K), box (..., 3)).

    box = centre x, centre y, side in px of the square around the candidate-0 peaks.
    """
    box = crop_box(xy_px[..., 0, :], scale=BOX_SCALE)
    return normalise_to_box(xy_px, box), lik, box


def candidates_to_inputs(
    c: Candidates, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A runtime Candidates record -> batch-of-one lifter inputs (1, 17, K, 2), (1, 17, K), box (1, 3) px."""
    xy = torch.as_tensor(np.asarray(c.xy), dtype=dtype)[None]
    lik = torch.as_tensor(np.asarray(c.likelihood), dtype=dtype)[None]
    return normalise_candidates(xy, lik)
