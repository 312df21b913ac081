"""nbval settings: compare only what a clean run reproduces exactly.

Cells marked ``# NBVAL_CHECK_OUTPUT`` print rounded text; everything else (HTML
reprs of frames, figures, stderr warnings, timings) is volatile and skipped.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
# The kernels nbval starts inherit this: no progress bars in a batch run of the notebooks.
os.environ.setdefault("FORECASTING_PROGRESS", "0")


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "image/svg+xml", "stderr")
