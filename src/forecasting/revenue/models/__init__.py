"""Revenue forecasters with one small API: ``fit(y)`` then ``predict(h, level)``.

Every model is a scikit-learn estimator (:class:`~forecasting.revenue.models.base.Forecaster`):
the constructor only stores keyword-only parameters, :meth:`fit` takes a
``pd.Series`` indexed by a regular ``DatetimeIndex`` or ``PeriodIndex`` (a
plain integer index also works) and returns ``self``; learned attributes end
in ``_``. :meth:`predict` returns a frame with ``mean, lo_80, hi_80, lo_95,
hi_95`` indexed by the next ``h`` periods, continuing the input's index type
and frequency, and never refits.

- :mod:`.baselines`: :class:`Naive`, :class:`SeasonalNaive`, :class:`Drift`
  (closed-form intervals, FPP3 section 5.5);
- :mod:`.ets`, :mod:`.arima`, :mod:`.theta`: statsmodels with small automatic searches;
- :mod:`.ensemble`: :class:`Ensemble`, the default model, their median with
  conformal intervals;
- :mod:`.registry`: :data:`MODELS` and :func:`make_model`.

statsmodels is imported inside the methods that need it, so importing this
package stays cheap.
"""

from forecasting.revenue.models.arima import ARIMA
from forecasting.revenue.models.base import FIT_ERRORS, Forecaster, future_index, season_length_of
from forecasting.revenue.models.base import _level_name, _z  # noqa: F401 - used by forecast, blend

from forecasting.revenue.models.baselines import Drift, Naive, SeasonalNaive
from forecasting.revenue.models.ensemble import Ensemble, _combine  # noqa: F401 - used by backtest
from forecasting.revenue.models.ets import ETS
from forecasting.revenue.models.registry import MODELS, make_model
from forecasting.revenue.models.theta import Theta

#: The old private name of :class:`Forecaster`.
_Forecaster = Forecaster

__all__ = [
    "Forecaster",
    "Naive",
    "SeasonalNaive",
    "Drift",
    "ETS",
    "ARIMA",
    "Theta",
    "Ensemble",
    "MODELS",
    "make_model",
    "season_length_of",
    "future_index",
    "FIT_ERRORS",
]
