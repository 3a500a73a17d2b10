"""Third-party model files (BlazePose .tflite): `from weights.fetch import model_path, fetch_all, WeightsMissing`."""
