"""What every figure module shares: money axes, atomic PNG writes, alt text.

Public so notebooks and new plot modules use the same pieces the built-in
figures do. Numbers are written by :mod:`forecasting.formatting`.
"""

from __future__ import annotations

from .formatting import money as money_text

__all__ = ["money_text", "money_axis", "save_figure", "figure_title", "add_alt_text", "new_axes",
           "new_panels", "finish"]


def new_axes(ax=None, figsize=(6.0, 4.5)):
    """The Axes to draw on and its Figure: ``ax`` itself when given, else a new figure of ``figsize``.

    Every plot function with an ``ax=`` argument starts here, so drawing into a
    user's subplot and drawing a stand-alone figure run the same code.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, (left, right) = plt.subplots(1, 2)
    >>> new_axes(right) == (fig, right)
    True
    >>> plt.close(fig)
    """
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def new_panels(ax, n: int, **subplots):
    """The Figure and ``n`` Axes of a figure with several panels: ``ax`` (a sequence of ``n`` Axes,
    e.g. one row of ``plt.subplots``) when given, else ``plt.subplots(**subplots)``.

    Raises
    ------
    ValueError
        When ``ax`` does not hold exactly ``n`` Axes.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(squeeze=False, **subplots)
        return fig, list(axes.ravel())
    import numpy as np

    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"this figure has {n} panels: pass ax as a sequence of {n} Axes, got {len(axes)}")
    return axes[0].figure, axes


def finish(fig, ax_given) -> object:
    """Lay out a figure the plot function made itself; a figure the caller passed Axes of is theirs to lay out."""
    if ax_given is None:
        fig.tight_layout()
    return fig


def money_axis(ax, axis: str = "y") -> None:
    """Label an axis in dollars ($250k, $1.2M) instead of matplotlib's 1e7 offsets."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: money_text(v)))


def save_figure(fig, path, dpi: int = 110) -> None:
    """Save a figure as PNG atomically (readers never see half a file)."""
    from .data.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")


def figure_title(fig, max_panels: int = 6) -> str:
    """What a figure shows, in words: its suptitle, then its panels' titles (``;``-separated).

    Used as the alt text of the figure in report HTML; empty when nothing is titled.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, (a, b) = plt.subplots(1, 2)
    >>> _ = fig.suptitle("Revenue"), a.set_title("SMB"), b.set_title("Enterprise")
    >>> figure_title(fig)
    'Revenue. Panels: SMB; Enterprise'
    >>> plt.close(fig)
    """
    def words(text: str) -> str:  # titles split over lines read as one sentence
        return " ".join(text.split())

    panels = [words(t) for t in (ax.get_title() or ax.get_title("left") for ax in fig.axes) if t.strip()]
    head = words(fig.get_suptitle())
    shown = "; ".join(panels[:max_panels]) + ("; ..." if len(panels) > max_panels else "")
    return f"{head}. Panels: {shown}" if head and shown else head or shown


def _alt_bundle(fig, include=None, exclude=None):
    """IPython mime-bundle printer: no data of its own, the PNG's alt text as metadata."""
    title = figure_title(fig)
    return {}, ({"image/png": {"alt": title}} if title else {})


def add_alt_text() -> bool:
    """In an IPython kernel, give every matplotlib figure shown from now on its title as alt text.

    The title goes into the PNG output's metadata (``image/png: {alt: ...}``),
    which the report runner turns into the ``alt`` of the figure's ``<img>``. It
    survives ``%matplotlib inline`` (which resets the PNG printer, not the
    mime-bundle one). The report runner calls it at kernel start.

    Returns
    -------
    bool
        Whether it was installed (False outside IPython).
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    from matplotlib.figure import Figure

    shell.display_formatter.mimebundle_formatter.for_type(Figure, _alt_bundle)
    return True
