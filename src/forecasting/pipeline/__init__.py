"""Pipeline forecasting: stage probabilities, as-of snapshots, weighted and Monte Carlo
forecasts, pipeline health and backtests.

>>> from forecasting.pipeline import forecast_period
>>> forecast, deals = forecast_period(opps, history, as_of="2026-06-30", period="2026Q3")  # doctest: +SKIP
"""

from ._context import PipelineData
from .backtest import BACKTEST_COLUMNS, METRIC_COLUMNS, backtest, backtest_metrics, plot_backtest
from .health import funnel, period_target, pipeline_health
from .forecast import DEAL_COLUMNS, FORECAST_COLUMNS, METHODS, categorize, forecast_period
from .snapshot import cutoff_of, expected_in_window, parse_periods, period_bounds, snapshot
from .stages import stage_win_rates
from .risk import deal_risk
from .scenario import SCENARIOS, Scenario, simulate_scenarios, what_it_takes
from .waterfall import category_moves, waterfall
from .weighted import weighted_pipeline

__all__ = [
    "PipelineData",
    "snapshot",
    "stage_win_rates",
    "pipeline_health",
    "funnel",
    "period_target",
    "forecast_period",
    "backtest",
    "backtest_metrics",
    "plot_backtest",
    "BACKTEST_COLUMNS",
    "METRIC_COLUMNS",
    "categorize",
    "cutoff_of",
    "period_bounds",
    "expected_in_window",
    "parse_periods",
    "METHODS",
    "FORECAST_COLUMNS",
    "DEAL_COLUMNS",
    "waterfall",
    "category_moves",
    "deal_risk",
    "Scenario",
    "SCENARIOS",
    "simulate_scenarios",
    "what_it_takes",
    "weighted_pipeline",
]
