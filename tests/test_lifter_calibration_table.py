import torch

from lifter.api import Lifter
from lifter.model import LifterModel, ModelConfig


def test_calibration_for_picks_the_nearest_fitted_setting():
    torch.manual_seed(0)
    lifter = Lifter(LifterModel(ModelConfig()), calibration=3.0)
    assert lifter.calibration_for(16, 5) == 3.0  # no table: the single scale
    lifter.meta["calibration_table"] = {"16,1": 50.0, "16,5": 8.0, "64,10": 5.0}
    assert lifter.calibration_for(16, 5) == 8.0
    assert lifter.calibration_for(16, 2) == 50.0   # log-nearer to 1 step than to 5
    assert lifter.calibration_for(16, 4) == 8.0
    assert lifter.calibration_for(64, 10) == 5.0
    assert lifter.calibration_for(32, 25) == 5.0
