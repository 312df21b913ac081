"""The sales KPIs under their former module name: everything lives in the concept modules.

``from forecasting.metrics.sales import X`` keeps working for every name it used to hold.
"""

from ._base import TOTAL_GROUP, group_labels
from .activity import activity_report, lead_response_times
from .attribution import lead_attribution
from .customers import cac, churn_rate, clv, mrr, revenue_growth
from .funnel import funnel_report
from .kpis import (acv, attainment, average_deal_size, close_ratio, commission, conversion_rate, pipeline_coverage,
                   pipeline_velocity, profit_margin, win_rate)
from .panel import KPI_COLUMNS, last_complete_period
from .tables import kpi_table

__all__ = [
    "TOTAL_GROUP", "group_labels", "activity_report", "lead_response_times", "lead_attribution", "cac",
    "churn_rate", "clv", "mrr", "revenue_growth", "funnel_report", "acv", "attainment", "average_deal_size",
    "close_ratio", "commission", "conversion_rate", "pipeline_coverage", "pipeline_velocity", "profit_margin",
    "win_rate", "KPI_COLUMNS", "last_complete_period", "kpi_table",
]
