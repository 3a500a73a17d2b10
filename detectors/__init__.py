"""Person detection, 2D heatmap backends and joint candidates."""
import core  # noqa: F401  (sets OMP_WAIT_POLICY before torch is imported)
