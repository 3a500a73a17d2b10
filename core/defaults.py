"""The settings every stage takes, with their built-in defaults in one place (configs/app.yaml may override them for
the app; function signatures take them from here)."""

HYPOTHESES = 16     # N: 3D hypotheses sampled per frame
STEPS = 5           # S: DDIM denoising steps per frame
CANDIDATES = 32     # K: joint candidates per joint sampled from its heatmap
