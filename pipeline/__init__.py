"""The roof: frame sources, stages, the runner, the config and the one factory that builds a pipeline from it, and
the Python API: `from pipeline import Estimator` (pipeline.estimator)."""
import core  # noqa: F401  (sets OMP_WAIT_POLICY before torch is imported)

__all__ = ["Estimator"]


def __getattr__(name: str):
    # Loaded on first use, not with the package: commands that need no model (pipeline.batch --resume, the manifest,
    # the config checks) then start without importing torch and the models (measured 17 s on a busy 2-core machine).
    if name == "Estimator":
        from pipeline.estimator import Estimator
        return Estimator
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
