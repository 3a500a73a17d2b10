"""Frame sources, records, the stage runner and the helpers every stage shares."""
import os

# Torch's OpenMP threads busy-wait by default; on a 2-core machine that shares the CPU with LiteRT, the capture
# thread and the lifter this made inference many times slower. Set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
