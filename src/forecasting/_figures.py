"""Old name of :mod:`forecasting.figures`, kept so existing imports keep working.

The report runner starts its kernels with ``forecasting._figures.add_alt_text()``.
"""

from .figures import *  # noqa: F401,F403
from .figures import __all__, _alt_bundle  # noqa: F401
