"""The weekly forecast call: the team hierarchy, call roll-ups, accuracy by week of quarter,
and a forecast combining the calls with the pipeline model.

>>> from forecasting.calls import rollup
>>> rollup(team, calls, as_of="2026-07-10", period="2026Q3")  # doctest: +SKIP
"""

from .accuracy import ACCURACY_COLUMNS, call_accuracy, convergence, plot_convergence, track_record, week_ends
from .combine import combine, compare_sources, debias_reps
from .rollup import ROLLUP_COLUMNS, calls_as_of, check_calls, rollup
from .team import Hierarchy, hierarchy

__all__ = ["Hierarchy", "hierarchy", "rollup", "check_calls", "calls_as_of", "ROLLUP_COLUMNS", "call_accuracy",
           "convergence", "plot_convergence", "week_ends", "ACCURACY_COLUMNS", "combine", "compare_sources",
           "debias_reps", "track_record"]
