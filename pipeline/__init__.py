"""The roof: frame sources, stages, the runner, the config and the one factory that builds a pipeline from it, and
the Python API: `from pipeline import Estimator` (pipeline.estimator)."""
import core  # noqa: F401  (sets OMP_WAIT_POLICY before torch is imported)
from pipeline.estimator import Estimator

__all__ = ["Estimator"]
