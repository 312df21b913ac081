"""Defaults shared by the library, the CLI and the reports, in one place.

This module imports nothing, so the CLI can show the defaults in ``--help``
without loading pandas (``forecasting --help`` stays fast).
"""

__all__ = ["REVENUE_HORIZON", "REVENUE_MODEL", "REVENUE_FOLDS", "REVENUE_MODELS"]

#: Periods a revenue forecast covers (``revenue forecast --horizon``, ``run_forecast(horizon=)``).
REVENUE_HORIZON = 12
#: The revenue forecast's model: the median of ETS, ARIMA and Theta with backtest-calibrated intervals.
REVENUE_MODEL = "ensemble"
#: Forecast origins of a revenue backtest.
REVENUE_FOLDS = 3
#: Models a revenue backtest compares.
REVENUE_MODELS = ("naive", "seasonal_naive", "ets", "arima", "theta", "ensemble")
