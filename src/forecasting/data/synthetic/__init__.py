"""Synthetic CRMs whose truth is known: the demo company and the world zoo.

Users reach them through :mod:`forecasting.data.demo` (``make_demo``,
``write_demo``) and :mod:`forecasting.data.worlds` (``make_world``,
``write_world``). The modules, one concept each:

- ``common``: float-day time helpers, ids and text columns;
- ``history``: stage histories as the CRM shows them at a cut-off (shared);
- ``demo`` and its processes: ``company`` (reps, flow), ``leads``, ``deals``,
  ``walk`` (the stage walk, ``simulate_remaining``), ``revenue`` (accounts,
  revenue, spend, quotas), ``activities`` (shared with the worlds);
- the zoo: ``zoo`` (world specifications), ``lead_processes``, ``process``
  (the worlds' deal process), ``oracles``, ``world`` (``World``, ``make_world``);
- the sales organisation of every CRM: ``team`` (hierarchy, targets,
  prospecting), ``calls`` (weekly forecast calls), ``survey`` (NPS, eNPS),
  ``terms`` (products, contract length, cost, units) and ``org`` (all of them);
- ``writer``: one DuckDB file plus CSV / Parquet copies.

Nothing is imported here, so ``import forecasting.data`` stays light.
"""
