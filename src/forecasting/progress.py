"""Progress bars on long work, shown only when someone is watching.

Someone is watching a terminal whose stderr is a TTY, and a JupyterLab (or
notebook) kernel: there the bar is a widget when ipywidgets is installed (the
``lab`` extra), else tqdm's text bar, which notebooks show as well. Nobody is
watching CI, cron, a pipe, or a notebook run in batch by papermill or nbval.

A kernel cannot tell an interactive JupyterLab from a batch run, so batch
runners say so: the environment variable ``FORECASTING_PROGRESS`` overrides
everything above; ``0`` turns bars off (the report runner and nbval runs should
set it for their kernels), ``1`` turns them on.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["progress", "progress_enabled", "ENV_VAR"]

ENV_VAR = "FORECASTING_PROGRESS"
_ON, _OFF = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (not a terminal IPython, not plain Python)."""
    if "IPython" not in sys.modules:  # a kernel has imported IPython long before us
        return False
    from IPython import get_ipython

    shell = get_ipython()
    # ipykernel's shell (JupyterLab, classic notebook, VS Code, papermill); terminal IPython is not one.
    return type(shell).__name__ == "ZMQInteractiveShell" or "IPKernelApp" in getattr(shell, "config", {})


def progress_enabled() -> bool:
    """Whether bars are shown: ``FORECASTING_PROGRESS`` (0/1) if set, else on in a Jupyter kernel
    and on a terminal, off otherwise.

    An unknown ``FORECASTING_PROGRESS`` value (``2``, ``maybe``) warns and is ignored: a
    progress bar is not worth stopping long work for.
    """
    setting = os.environ.get(ENV_VAR)
    value = None if setting is None else setting.strip().lower()
    if value in _ON | _OFF:
        return value in _ON
    if value is not None:
        warnings.warn(f"{ENV_VAR}={setting!r} ignored: use 1 to show progress bars or 0 to hide them",
                      stacklevel=3)
    return _in_notebook() or sys.stderr.isatty()


def _bar_class(enabled: bool):
    """tqdm's notebook widget inside a kernel with ipywidgets, else its text bar.

    Never ``tqdm.auto``: without ipywidgets it warns ("IProgress not found") even
    when the bar is off.
    """
    if enabled and _in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm.notebook needs it to draw)
        except ImportError:
            pass
        else:
            from tqdm.notebook import tqdm

            return tqdm
    from tqdm.std import tqdm

    return tqdm


def progress(iterable=None, *, desc: str | None = None, total: int | None = None, enabled: bool | None = None):
    """Wrap an iterable in a tqdm bar; silent in CI, cron and notebooks run in batch.

    Parameters
    ----------
    iterable : iterable, optional
    desc : str, optional
        Label shown before the bar.
    total : int, optional
        Number of items when ``iterable`` has no ``len``.
    enabled : bool, optional
        Force the bar on or off; default :func:`progress_enabled`.

    Returns
    -------
    tqdm
        Iterate over it like ``iterable``; a disabled bar writes nothing.
    """
    if enabled is None:
        enabled = progress_enabled()
    tqdm = _bar_class(enabled)
    return tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=False)
