# Makes the repository root importable for tests (pipeline, detectors, lifter, ...).
