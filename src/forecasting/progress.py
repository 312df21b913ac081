"""Progress bars on long work, shown only when someone is watching (stderr is a TTY)."""

from __future__ import annotations

import sys

__all__ = ["progress"]


def progress(iterable=None, *, desc: str | None = None, total: int | None = None, enabled: bool | None = None):
    """Wrap an iterable in a tqdm bar; silent in CI, cron and notebooks run by papermill.

    Parameters
    ----------
    iterable : iterable, optional
    desc : str, optional
        Label shown before the bar.
    total : int, optional
        Number of items when ``iterable`` has no ``len``.
    enabled : bool, optional
        Force the bar on or off; default: on when stderr is a terminal.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        from tqdm.auto import tqdm
    else:  # tqdm.auto warns about ipywidgets inside notebooks even with the bar off
        from tqdm.std import tqdm
    return tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=False)
