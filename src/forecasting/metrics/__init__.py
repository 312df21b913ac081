"""Metrics: the sales KPIs of the glossary (and, beside them, model and forecast metrics).

One function per glossary term (docs/kpis.md), grouped by concept:

- :mod:`.kpis`: deals, pipeline, reps and activities (win rate, coverage, velocity, attainment...);
- :mod:`.customers`: CAC, CLV, MRR/ARR, churn, growth, NPS;
- :mod:`.tables`: :func:`kpi_table`, every KPI per period (D, W, M, Q, Y) and group;
- :mod:`.funnel`, :mod:`.activity`, :mod:`.attribution`: the funnel, activity and attribution reports;
- :mod:`.classification`, :mod:`.accuracy`: model and forecast metrics.
"""

from ._base import by_columns
from .activity import activity_report, lead_response_times
from .attribution import lead_attribution
from .customers import (arr, cac, cac_payback_months, churn_rate, clv, clv_cac_ratio, mrr, nps, nps_groups,
                        revenue_growth)
from .funnel import funnel_report, funnel_table, step_conversion
from .kpis import (activity_completion_rate, activity_response_rate, acv, attainment, average_deal_size,
                   close_ratio, commission, conversion_rate, cross_sell_rate, gap_coverage, persistence,
                   pipeline_coverage, pipeline_velocity, profit_margin, sales_productivity, upsell_rate, win_rate)
from .panel import KPI_COLUMNS, last_complete_period, spread_by_period
from .tables import kpi_table

__all__ = [
    "KPI_COLUMNS", "activity_completion_rate", "activity_report", "activity_response_rate", "acv", "arr",
    "attainment", "average_deal_size",
    "by_columns", "cac", "cac_payback_months", "churn_rate", "close_ratio", "clv", "clv_cac_ratio", "commission",
    "conversion_rate", "cross_sell_rate", "funnel_report", "funnel_table", "gap_coverage", "kpi_table", "last_complete_period",
    "lead_attribution", "lead_response_times", "mrr", "nps", "nps_groups", "persistence", "pipeline_coverage",
    "pipeline_velocity", "profit_margin", "revenue_growth", "sales_productivity", "spread_by_period",
    "step_conversion", "upsell_rate", "win_rate",
]
