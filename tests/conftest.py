import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _private_surface_cache(tmp_path_factory):
    """Derived surface code goes to a folder of this session, not ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.mktemp("optviz-cache")))
    yield
    mp.undo()
