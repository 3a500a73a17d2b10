"""One-off commands (soak test, overlay CLI, reference-tool checks): the top layer, beside app.py."""
import core  # noqa: F401  (sets OMP_WAIT_POLICY before torch is imported)
