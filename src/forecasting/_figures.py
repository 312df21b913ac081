"""Small helpers every figure module shares: money axes and atomic PNG writes."""

from __future__ import annotations

__all__ = ["money_axis", "save_figure"]


def _money(value: float) -> str:
    if abs(value) >= 1e6:
        return f"${value / 1e6:.1f}M"
    return f"${value / 1e3:.0f}k" if abs(value) >= 1e3 else f"${value:.0f}"


def money_axis(ax, axis: str = "y") -> None:
    """Label an axis in dollars ($250k, $1.2M) instead of matplotlib's 1e7 offsets."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: _money(v)))


def save_figure(fig, path, dpi: int = 110) -> None:
    """Save a figure as PNG atomically (readers never see half a file)."""
    from .data.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
