"""JupyterLab feels native: ``ax=`` on every plot, HTML reprs of results, progress bars in kernels,
and one money formatter."""

from __future__ import annotations

import inspect
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from forecasting import figures, formatting, plots as kpi_plots
from forecasting import progress as progress_module
from forecasting.data.errors import problem
from forecasting.data.validate import CheckReport
from forecasting.leads import plots as lead_plots
from forecasting.leads.compare import Comparison
from forecasting.leads.drift import SCORE
from forecasting.leads.model import LeadModel
from forecasting.pipeline import plot_backtest, plots as pipeline_plots
from forecasting.revenue import plots as revenue_plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------- one money formatter

@pytest.mark.parametrize("value, text", [
    (400, "$400"), (0, "$0"), (999.6, "$1k"), (250_000, "$250k"), (999_400, "$999k"), (999_600, "$1.0M"),
    (1_234_567, "$1.2M"), (2.5e9, "$2.5B"), (-5_000, "-$5k"), (-0.4, "$0"), (float("nan"), "n/a"),
])
def test_money_reads_whole_dollars_in_k_m_b(value, text):
    assert formatting.money(value) == text


def test_percent_and_count_round_as_written():
    assert (formatting.percent(0.254), formatting.percent(0.254, 1), formatting.count(12345.4)) == ("25%", "25.4%",
                                                                                                  "12,345")


def test_pipeline_money_ticks_use_the_shared_formatter_so_400_dollars_is_not_0k():
    deals = pd.DataFrame({"opportunity_id": ["D1"], "owner": ["ava"], "stage": ["Demo"], "amount": [900.0],
                          "probability": [0.5], "expected_value": [450.0], "category": ["Commit"],
                          "period": ["2026Q3"]})
    ax = pipeline_plots.top_deals_chart(deals).axes[0]
    tick = ax.xaxis.get_major_formatter()
    assert [tick(v, 0) for v in (400, 1_500, 2_000_000)] == ["$400", "$2k", "$2.0M"]


def test_private_figures_module_reexports_the_public_one_for_the_report_runner():
    import forecasting._figures as old

    assert old.add_alt_text is figures.add_alt_text
    assert old.money_text is formatting.money
    assert set(old.__all__) == set(figures.__all__)


# ---------------------------------------------------------------- ax= on every plot function

def _oof() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    return pd.concat([pd.DataFrame({"model": name, "y": y, "score": np.clip(0.3 * y + rng.random(200) * k, 0, 1)})
                      for name, k in (("logistic", 0.7), ("hist_gb", 0.9))], ignore_index=True)


def _board() -> pd.DataFrame:
    return pd.DataFrame({"model": ["logistic", "hist_gb"], "roc_auc": [0.81, 0.80], "roc_auc_lo": [0.80, 0.79],
                         "roc_auc_hi": [0.82, 0.81]})


def _pipeline_forecast() -> pd.DataFrame:
    return pd.DataFrame({"period": "2026Q3", "group": ["all", "ava"], "closed_won": [100e3, 50e3],
                         "open_pipeline": 2000e3, "weighted": 900e3, "p10": 700e3, "p50": [1000e3, 900e3],
                         "p90": 1500e3, "method": "learned", "new_deals": 50e3, "as_of": "2026-06-30"})


def _deals() -> pd.DataFrame:
    return pd.DataFrame({"opportunity_id": ["D1", "D2"], "owner": ["ava", "ben"], "stage": ["Demo", "Proposal"],
                         "amount": [600e3, 300e3], "probability": [0.8, 0.5], "expected_value": [480e3, 150e3],
                         "category": ["Commit", "Best case"], "period": "2026Q3"})


def _history() -> pd.DataFrame:
    dates = pd.date_range("2023-01-01", periods=24, freq="MS")
    return pd.DataFrame({"date": dates, "segment": "all", "amount": 100_000.0 + 5_000.0 * np.arange(24)})


def _revenue_forecast() -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=3, freq="MS")
    mean = np.array([220e3, 225e3, 230e3])
    return pd.DataFrame({"series": "all", "date": dates, "mean": mean, "lo_80": mean - 20e3, "hi_80": mean + 20e3,
                         "model": "Drift"})


def _revenue_backtest() -> pd.DataFrame:
    dates = pd.date_range("2024-10-01", periods=3, freq="MS")
    return pd.concat([pd.DataFrame({"series": "all", "cutoff": pd.Timestamp("2024-09-01"), "date": dates,
                                    "actual": [205e3, 210e3, 215e3], "model": model, "mean": mean,
                                    "lo_80": np.array(mean) - 9e3, "hi_80": np.array(mean) + 9e3})
                      for model, mean in (("Naive", [200e3] * 3), ("Drift", [205e3, 210e3, 215e3]))],
                     ignore_index=True)


_KPIS = pd.DataFrame({"group": "all", "period": ["2026Q1", "2026Q2"], "revenue_won": [100e3, 120e3],
                      "pipeline_created": [300e3, 280e3], "win_rate": [0.3, 0.35], "close_ratio": [0.2, 0.25]})

# Every public plot function: (function, arguments, number of panels it draws).
PLOTS = {
    "leads.roc_figure": (lead_plots.roc_figure, lambda: (_oof(),), 1),
    "leads.pr_figure": (lead_plots.pr_figure, lambda: (_oof(),), 1),
    "leads.reliability_figure": (lead_plots.reliability_figure, lambda: (_oof(),), 1),
    "leads.gain_figure": (lead_plots.gain_figure, lambda: (_oof(),), 1),
    "leads.leaderboard_figure": (lead_plots.leaderboard_figure, lambda: (_board(),), 1),
    "leads.capacity_figure": (lead_plots.capacity_figure, lambda: (_oof().head(200), 0.5), 1),
    "leads.grades_figure": (lead_plots.grades_figure, lambda: (pd.DataFrame(
        {"leads": [10, 20], "conversion_rate": [0.5, 0.1]}, index=["A", "B"]), 0.2), 1),
    "leads.drift_figure": (lead_plots.drift_figure, lambda: (pd.DataFrame(
        {"feature": ["source", SCORE], "psi": [0.3, 0.05], "band": ["shifted", "stable"]}),), 1),
    "pipeline.period_forecast_chart": (pipeline_plots.period_forecast_chart,
                                       lambda: (_pipeline_forecast(), _deals()), 2),
    "pipeline.group_forecast_chart": (pipeline_plots.group_forecast_chart, lambda: (_pipeline_forecast(),), 1),
    "pipeline.funnel_chart": (pipeline_plots.funnel_chart, lambda: (pd.DataFrame(
        {"stage": ["Demo", "Won"], "reached": [10, 4], "conversion_to_next": [0.4, np.nan],
         "median_days_in_stage": [12.0, np.nan]}),), 2),
    "pipeline.stage_rates_chart": (pipeline_plots.stage_rates_chart, lambda: (pd.DataFrame(
        {"stage": ["Demo", "Proposal"], "prior": [0.2, 0.5], "probability": [0.25, 0.55]}),), 1),
    "pipeline.top_deals_chart": (pipeline_plots.top_deals_chart, lambda: (_deals(),), 1),
    "pipeline.plot_backtest": (plot_backtest, lambda: (pd.DataFrame(
        {"method": ["default", "default", "learned", "learned"], "period": ["2026Q1", "2026Q2"] * 2,
         "p10": [80e3, 90e3, 85e3, 95e3], "p50": [100e3, 110e3, 105e3, 115e3],
         "p90": [120e3, 130e3, 125e3, 135e3], "actual": [101e3, 112e3, 101e3, 112e3]}),), 2),
    "kpis.kpi_trends": (kpi_plots.kpi_trends, lambda: (_KPIS,), 2),
    "kpis.funnel_chart": (kpi_plots.funnel_chart, lambda: (pd.DataFrame(
        {"stage": ["Lead", "Won"], "reached": [10, 4], "conversion": [np.nan, 0.4]}),), 1),
    "kpis.activity_chart": (kpi_plots.activity_chart, lambda: (pd.DataFrame(
        {"period": "2026Q1", "owner": ["ava", "ben"], "call": [3, 5], "email": [1, 2], "total": [4, 7]}),), 1),
    "kpis.attribution_chart": (kpi_plots.attribution_chart, lambda: (pd.DataFrame(
        {"channel": ["web", "event"], "converted": [5, 2], "conversion_rate": [0.1, 0.2]}),), 1),
    "revenue.fan_chart": (revenue_plots.fan_chart, lambda: (_revenue_forecast(), _history()), 1),
    "revenue.fan_charts": (revenue_plots.fan_charts, lambda: (_revenue_forecast(), _history()), 1),
    "revenue.backtest_chart": (revenue_plots.backtest_chart, lambda: (_revenue_backtest(), None, None, None,
                                                                       "drift"), 1),
    "revenue.leaderboard_chart": (revenue_plots.leaderboard_chart, lambda: (pd.DataFrame(
        {"model": ["Drift", "Naive"], "mase": [0.5, 1.2], "coverage_80": [0.8, 0.6]}),), 2),
    "revenue.blend_chart": (revenue_plots.blend_chart, lambda: (pd.DataFrame(
        {"period": "2026Q3", "method": ["pipeline", "time_series", "blend"], "p10": [80e3, 90e3, 85e3],
         "p50": [100e3, 110e3, 105e3], "p90": [120e3, 130e3, 125e3], "weight": [0.5, 0.5, 1.0]}),), 1),
}


def _drawn(ax) -> tuple:
    """What an Axes shows: titles, labels, line data, bar extents, texts."""
    return (ax.get_title(), ax.get_xlabel(), ax.get_ylabel(),
            [np.round(np.asarray(ln.get_ydata(), dtype=float), 6).tolist() for ln in ax.lines],
            [str(np.round([p.get_x(), p.get_width(), p.get_height()], 6))  # str: nan == nan
             for p in ax.patches if hasattr(p, "get_width")],
            [t.get_text() for t in ax.texts])


def test_every_public_plot_function_takes_ax():
    modules = {"leads": lead_plots, "pipeline": pipeline_plots, "kpis": kpi_plots, "revenue": revenue_plots}
    public = {f"{key}.{name}" for key, m in modules.items() for name in m.__all__
              if inspect.isfunction(getattr(m, name))}
    assert public - set(PLOTS) == {"leads.comparison_figures", "kpis.save_figure"}  # four figures; a writer
    assert "pipeline.plot_backtest" in PLOTS  # the backtest figure lives beside the backtest
    assert all("ax" in inspect.signature(fn).parameters for fn, _, _ in PLOTS.values())


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_draws_into_the_axes_given_exactly_what_it_draws_alone(name):
    function, arguments, panels = PLOTS[name]
    alone = function(*arguments())
    fig, axes = plt.subplots(1, panels + 1, figsize=(12, 4))  # one spare panel must stay empty
    given = axes[1] if panels == 1 else axes[1:]
    returned = function(*arguments(), ax=given)
    assert returned is fig
    drawn = [axes[1]] if panels == 1 else list(axes[1:])
    assert [_drawn(ax) for ax in drawn] == [_drawn(ax) for ax in alone.axes[:panels]]
    assert _drawn(axes[0]) == ("", "", "", [], [], [])


def test_multi_panel_plot_refuses_the_wrong_number_of_axes():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="has 2 panels: pass ax as a sequence of 2 Axes, got 1"):
        pipeline_plots.funnel_chart(pd.DataFrame({"stage": ["Demo"], "reached": [1], "conversion_to_next": [0.0],
                                                  "median_days_in_stage": [1.0]}), ax=[ax])


def test_default_figures_keep_their_size():
    assert tuple(lead_plots.roc_figure(_oof()).get_size_inches()) == (6, 4.5)
    assert tuple(pipeline_plots.funnel_chart(PLOTS["pipeline.funnel_chart"][1]()[0]).get_size_inches()) == (9, 3.4)
    assert tuple(kpi_plots.kpi_trends(_KPIS).get_size_inches()) == (9, 7.2)


# ---------------------------------------------------------------- HTML reprs

def _comparison(first="hist_gb") -> Comparison:
    board = pd.DataFrame({"model": [first, "logistic", "rule_scorecard"], "roc_auc": [0.81249, 0.8, 0.7],
                          "roc_auc_lo": [0.8, 0.79, 0.69], "roc_auc_hi": [0.83, 0.81, 0.71]})
    oof = pd.DataFrame({"lead_id": ["L1", "L2", "L1", "L2"], "model": ["a", "a", "b", "b"], "y": [1, 0, 1, 0],
                        "score": [0.9, 0.1, 0.8, 0.2]})
    return Comparison(leaderboard=board, oof=oof, features=None, calibration={})


def test_comparison_repr_shows_the_best_model_and_its_auc_rounded():
    html = _comparison()._repr_html_()
    assert "best: <b>hist_gb</b>" in html
    assert "ROC AUC: <b>0.812</b>" in html
    assert "Comparison of 3 lead scorers" in html and "leads: <b>2</b>" in html
    assert html.index("<td>hist_gb</td>") < html.index("<td>logistic</td>") < html.index("<td>rule_scorecard</td>")


def test_repr_escapes_names_so_a_model_name_cannot_inject_html():
    html = _comparison(first="<script>x</script>")._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_check_report_repr_says_ok_or_counts_the_errors_with_their_columns():
    frame = pd.DataFrame({"lead_id": ["L1", "L2"], "converted": [1, 0]})
    ok = CheckReport("leads", "leads.csv", frame)._repr_html_()
    assert "Check of leads (OK)" in ok and "rows: <b>2</b>" in ok and "<table>" not in ok
    bad = CheckReport("leads", "leads.csv", frame, [
        problem("leads", "created_at", "is not a date", ["L2"]),
        problem("leads", "source", "has 1 empty value", ["L1"], severity="warning")])._repr_html_()
    assert "status: <b>1 error(s)</b>" in bad and "warnings: <b>1</b>" in bad
    assert "<td>error</td><td>created_at</td><td>is not a date</td><td>L2</td>" in bad


def test_lead_model_repr_shows_the_card_headline():
    card = {"model": "logistic", "features": {"source": "category", "visits": "numeric", "pages": "numeric"},
            "calibration": "isotonic", "cv_metrics": {"roc_auc": 0.83456}, "threshold": {"threshold": 0.4172},
            "training": {"rows": 1200, "conversion_rate": 0.3851},
            "excluded": {"lead_status": "leaks the label"},
            "single_feature_auc": {"lead_status": 0.99, "source": 0.7, "visits": 0.65, "pages": 0.55}}
    html = LeadModel(estimator=None, card=card)._repr_html_()
    for fact in ("LeadModel logistic", "features: <b>3</b>", "CV ROC AUC: <b>0.835</b>",
                 "calibration: <b>isotonic</b>", "threshold: <b>0.42</b>", "1,200 leads, 38.5% converted"):
        assert fact in html
    assert html.index("<td>source</td>") < html.index("<td>visits</td>") < html.index("<td>pages</td>")
    assert "excluded columns: <b>1</b>" in html and "<td>lead_status</td>" not in html  # leaky, not a feature


# ---------------------------------------------------------------- progress bars

@pytest.fixture
def terminal(monkeypatch):
    """Set where the code runs: in a notebook or not, stderr a TTY or not, FORECASTING_PROGRESS."""
    def where(notebook: bool, tty: bool, env: str | None = None):
        monkeypatch.setattr(progress_module, "_in_notebook", lambda: notebook)
        monkeypatch.setattr(progress_module.sys.stderr, "isatty", lambda: tty, raising=False)
        if env is None:
            monkeypatch.delenv("FORECASTING_PROGRESS", raising=False)
        else:
            monkeypatch.setenv("FORECASTING_PROGRESS", env)
    return where


@pytest.mark.parametrize("notebook, tty, env, shown", [
    (True, False, None, True),    # JupyterLab: stderr is no TTY, bars are on anyway
    (True, False, "0", False),    # papermill / nbval runs set FORECASTING_PROGRESS=0
    (False, True, None, True),    # terminal
    (False, False, None, False),  # CI, cron, a pipe
    (False, False, "1", True),
    (False, True, "0", False),
])
def test_progress_is_on_where_someone_watches(terminal, notebook, tty, env, shown):
    terminal(notebook, tty, env)
    assert progress_module.progress_enabled() is shown
    assert progress_module.progress(range(3)).disable is (not shown)


def test_unknown_progress_setting_warns_and_falls_back(terminal):
    terminal(False, False, "maybe")
    with pytest.warns(UserWarning, match="FORECASTING_PROGRESS='maybe' ignored"):
        assert progress_module.progress_enabled() is False


def test_notebook_bar_without_ipywidgets_is_a_text_bar_and_does_not_warn(terminal, monkeypatch):
    import sys

    terminal(True, False)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed: import raises ImportError
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tqdm.auto would warn "IProgress not found"
        bar = progress_module.progress(range(3), desc="x")
        assert type(bar).__module__ == "tqdm.std" and not bar.disable
        assert list(bar) == [0, 1, 2]


def _run_in_kernel(code: str, **client) -> str:
    """Run ``code`` in a real Jupyter kernel and return what it printed."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3", **client).execute()
    return notebook.cells[0].outputs[0]["text"]


def test_a_real_jupyter_kernel_is_detected_and_the_env_var_turns_it_off(monkeypatch):
    monkeypatch.delenv("FORECASTING_PROGRESS", raising=False)
    code = ("import os\nfrom forecasting.progress import progress_enabled\nprint(progress_enabled())\n"
            "os.environ['FORECASTING_PROGRESS'] = '0'\nprint(progress_enabled())")
    assert _run_in_kernel(code) == "True\nFalse\n"


@pytest.mark.parametrize("parent, shown", [(None, "False"), ("1", "True")])
def test_report_kernels_start_with_progress_off_unless_the_caller_asks(monkeypatch, parent, shown):
    from forecasting.reports.runner import _KERNEL_SETUP

    if parent is None:
        monkeypatch.delenv("FORECASTING_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("FORECASTING_PROGRESS", parent)
    code = "from forecasting.progress import progress_enabled\nprint(progress_enabled())"
    assert _run_in_kernel(code, extra_arguments=[_KERNEL_SETUP]) == f"{shown}\n"
