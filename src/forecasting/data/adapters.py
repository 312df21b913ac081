"""Public datasets mapped onto the canonical tables: the adapters live in :mod:`forecasting.data.public`
(one module per dataset); this module keeps the older import path working.

Examples
--------
>>> from forecasting.data.adapters import ADAPTERS
>>> sorted(ADAPTERS)
['bank_marketing', 'm3', 'maven_crm', 'olist', 'superstore', 'tourism', 'x_education']
"""

from .public import (ADAPTERS, ENV_VAR, LEAKY_TABLE, Adapted, bank_marketing, m3, m3_monthly, maven_crm,
                     olist_funnel, shared_data_dir, superstore, tourism, x_education_leads)

__all__ = ["Adapted", "ADAPTERS", "ENV_VAR", "LEAKY_TABLE", "shared_data_dir", "x_education_leads",
           "bank_marketing", "olist_funnel", "maven_crm", "superstore", "m3", "m3_monthly", "tourism"]
