"""Browser tests: opt-in with ``make test-browser`` (``FORECASTING_BROWSER=1``).

They run every report on the demo data and need Chromium, so plain ``pytest``
(``make test``, CI) does not collect them.
"""

import os
import shutil
from pathlib import Path

import pytest

ENABLED = os.environ.get("FORECASTING_BROWSER") == "1"

# Keeps `pytest` from collecting this folder; a file named on the command line is collected
# anyway, hence the skip below.
collect_ignore_glob = [] if ENABLED else ["test_*.py"]


def pytest_collection_modifyitems(config, items):
    if ENABLED:
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="browser test: run `make test-browser` (sets FORECASTING_BROWSER=1)")
    for item in items:  # this hook sees every item of the session, not only this folder's
        if here in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Chromium binary; `make test-browser` installs Debian's package."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("no chromium on PATH: run `make test-browser`, which installs it (apt-get install chromium)")
    return path
