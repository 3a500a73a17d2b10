import pytest


@pytest.fixture(scope="session")
def blazepose_files():
    """The four verified BlazePose model files, name -> path (fetched from ../shared or the registries if absent)."""
    from weights.fetch import MODELS, WeightsMissing, fetch_all, model_path

    try:
        return {name: model_path(name) for name in MODELS}
    except WeightsMissing:
        return fetch_all(log=lambda *_: None)
