"""The roof: frame sources, stages, the runner, the config and the factory that builds a pipeline from it."""
import core  # noqa: F401  (sets OMP_WAIT_POLICY before torch is imported)
