"""The settings every stage takes, with their built-in defaults in one place (configs/app.yaml may override them for
the app; function signatures take them from here)."""

HYPOTHESES = 16     # N: 3D hypotheses sampled per frame
STEPS = 5           # S: DDIM denoising steps per frame
CANDIDATES = 32     # K: joint candidates per joint sampled from its heatmap
# Joint-definition uncertainty (metres, standard deviation per axis) added to every joint's covariance in the app: an
# independent system's truth puts its "hip" or "knee" elsewhere than our mocap's joint centres (keypoint vs marker-based
# joint centres differ systematically by ~30-50 mm at hips and knees, Needham et al. 2021; hip-centre regressions by
# 12-25 mm, Mantovani et al. 2016). The lifter's calibration cannot hold it: its training truth shares our definitions.
DEFINITION_SD_M = 0.02
