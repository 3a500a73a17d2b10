"""The candidate-conditioned diffusion lifter: model, sampling, data, training, evaluation."""
import core  # noqa: F401  (sets OMP_WAIT_POLICY before torch is imported)
