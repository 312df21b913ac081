"""Metrics: the sales KPIs of the glossary (and, beside them, model and forecast metrics).

One function per glossary term (docs/kpis.md), grouped by concept:

- :mod:`.kpis`: deals, pipeline and reps (win rate, coverage, velocity, attainment...);
- :mod:`.customers`: CAC, CLV, MRR/ARR, churn, growth, NPS;
- :mod:`.tables`: :func:`kpi_table`, every KPI per period (D, W, M, Q, Y) and group;
- :mod:`.funnel`, :mod:`.activity`, :mod:`.attribution`: the funnel, activity and attribution reports;
- :mod:`.classification`, :mod:`.accuracy`: model and forecast metrics.
"""

from .activity import activity_report, lead_response_times
from .attribution import lead_attribution
from .customers import cac, churn_rate, clv, mrr, revenue_growth
from .funnel import funnel_report, step_conversion
from .kpis import (acv, attainment, average_deal_size, close_ratio, commission, conversion_rate, gap_coverage,
                   pipeline_coverage, pipeline_velocity, profit_margin, win_rate)
from .panel import KPI_COLUMNS, last_complete_period, spread_by_period
from .tables import kpi_table

__all__ = [
    "KPI_COLUMNS",
    "acv",
    "activity_report",
    "attainment",
    "average_deal_size",
    "cac",
    "churn_rate",
    "close_ratio",
    "clv",
    "commission",
    "conversion_rate",
    "funnel_report",
    "gap_coverage",
    "kpi_table",
    "last_complete_period",
    "lead_attribution",
    "lead_response_times",
    "mrr",
    "pipeline_coverage",
    "pipeline_velocity",
    "profit_margin",
    "revenue_growth",
    "spread_by_period",
    "step_conversion",
    "win_rate",
]
