"""Synthetic standing poses for lifter tests (world metres, +Y up, pelvis at the origin, our 17-joint order)."""
import numpy as np

STAND = np.array([
    [0.0, 0.0, 0.0], [-0.1, 0.0, 0.0], [-0.1, -0.45, 0.0], [-0.1, -0.88, 0.0],
    [0.1, 0.0, 0.0], [0.1, -0.45, 0.0], [0.1, -0.88, 0.0],
    [0.0, 0.22, 0.0], [0.0, 0.48, 0.0], [0.0, 0.58, 0.05], [0.0, 0.72, 0.0],
    [0.17, 0.46, 0.0], [0.2, 0.2, 0.0], [0.22, -0.05, 0.0],
    [-0.17, 0.46, 0.0], [-0.2, 0.2, 0.0], [-0.22, -0.05, 0.0],
], dtype=np.float32)


def synthetic_poses(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = np.repeat(STAND[None], n, 0) + rng.normal(0, 0.04, (n, 17, 3)).astype(np.float32)
    raise_arm = rng.random(n) < 0.5  # lift the left forearm for half of them
    p[raise_arm, 12:14, 1] += np.array([0.3, 0.6], dtype=np.float32)
    p[:, 0] = 0
    return p.astype(np.float32)
