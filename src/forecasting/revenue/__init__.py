"""Time-series revenue forecasting: models, many-series forecasts, rolling-origin backtests and the
blend with the pipeline forecast.

>>> from forecasting.revenue import forecast, backtest, backtest_metrics, select_model, ETS
>>> from forecasting.revenue import bookings, period_forecast, blend, blend_backtest
"""

from forecasting.revenue.backtest import DEFAULT_MODELS, backtest, backtest_metrics, select_model
from forecasting.revenue.blend import (
    blend,
    blend_backtest,
    blend_metrics,
    blend_with_pipeline,
    blend_weights,
    bookings,
    forecast_periods,
    period_forecast,
    time_series_backtest,
)
from forecasting.revenue.forecast import FILL_GAPS, TOTAL, forecast, prepare_series
from forecasting.revenue.models import (
    ARIMA,
    ETS,
    MODELS,
    Drift,
    Ensemble,
    Naive,
    SeasonalNaive,
    Theta,
    future_index,
    make_model,
    season_length_of,
)

__all__ = [
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
    "forecast",
    "prepare_series",
    "TOTAL",
    "FILL_GAPS",
    "backtest",
    "backtest_metrics",
    "select_model",
    "DEFAULT_MODELS",
    "bookings",
    "period_forecast",
    "forecast_periods",
    "time_series_backtest",
    "blend_weights",
    "blend",
    "blend_backtest",
    "blend_metrics",
    "blend_with_pipeline",
]
