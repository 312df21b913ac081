"""Set-up of the kernel that runs a report: what a batch run needs and a reader sees.

The report runner starts every kernel with :func:`setup` (IPython ``exec_lines``),
so the notebooks themselves stay free of it and run the same in JupyterLab.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["setup", "warnings_as_notes"]


def warnings_as_notes(stream=None) -> None:
    """Show each distinct warning once, as a ``Note:`` line of the cell's output.

    A report's reader needs the assumptions a forecast made ("no stage history:
    snapshots are approximate"), but not as a stderr block with file names and line
    numbers, nor three times for three tables of the same forecast.

    Examples
    --------
    >>> import io, warnings
    >>> out = io.StringIO()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("always")
    ...     warnings_as_notes(out)
    ...     warnings.warn("snapshots are approximate")
    ...     warnings.warn("snapshots are approximate")
    >>> out.getvalue()
    'Note: snapshots are approximate\\n'
    """
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message).strip()
        if text and text not in seen:
            seen.add(text)
            print(f"Note: {text}", file=stream or sys.stdout)

    warnings.showwarning = show


def setup() -> None:
    """Progress bars off (unless the caller set ``FORECASTING_PROGRESS``), figure titles as
    alt text, warnings as notes."""
    from ..figures import add_alt_text

    os.environ.setdefault("FORECASTING_PROGRESS", "0")
    add_alt_text()
    warnings_as_notes()
