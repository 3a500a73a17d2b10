"""The shared vocabulary every package uses: records, skeleton, camera, paths, smoothing, errors and the stage
Protocols. Imports no other package of the project (tests/test_layering.py)."""
import os

# Torch's OpenMP threads busy-wait by default; on a 2-core machine that shares the CPU with LiteRT, the capture
# thread and the lifter this made inference many times slower. Set before torch is first imported: every package
# that may import torch imports `core` first (its __init__).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
