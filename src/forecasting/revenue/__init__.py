"""Time-series revenue forecasting: models, many-series forecasts, rolling-origin backtests and the
blend with the pipeline forecast.

>>> from forecasting.revenue import forecast, backtest, backtest_metrics, select_model, ETS
>>> from forecasting.revenue import bookings, period_forecast, blend, blend_backtest
>>> from forecasting.revenue import run_forecast, load_revenue  # what the CLI and the report run
"""

from forecasting.revenue.backtest import (
    DEFAULT_FOLDS,
    DEFAULT_MODELS,
    backtest,
    backtest_metrics,
    outlier_periods,
    select_model,
)
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
from forecasting.revenue.forecast import (
    DEFAULT_HORIZON,
    DEFAULT_MODEL,
    FILL_GAPS,
    OUTLIERS,
    TOTAL,
    forecast,
    prepare_series,
)
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
from forecasting.revenue.run import ForecastRun, load_revenue, outlier_table, run_forecast, summarize

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
    "OUTLIERS",
    "DEFAULT_MODEL",
    "DEFAULT_HORIZON",
    "DEFAULT_FOLDS",
    "run_forecast",
    "ForecastRun",
    "load_revenue",
    "outlier_table",
    "outlier_periods",
    "summarize",
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
