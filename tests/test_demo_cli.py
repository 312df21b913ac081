"""`forecasting demo`: its plan of steps, running them side by side, and what a failed step stops."""

from __future__ import annotations

import pytest

from forecasting.cli import main
from forecasting.cli.demo import Step, plan, run_steps

REPORTS = ["forecast_call", "lead_scoring_comparison", "pipeline_forecast", "revenue_forecast", "sales_kpis"]


def test_the_plan_runs_every_cli_step_and_report_once_with_its_prerequisites_first():
    steps = plan("/data/crm.duckdb", "/out", 3, REPORTS)
    names = [s.name for s in steps]
    assert len(names) == len(set(names)) == 13 + len(REPORTS)  # 13 CLI steps
    for i, step in enumerate(steps):  # in one-at-a-time order, every prerequisite comes earlier
        assert set(step.after) <= set(names[:i]), step.name
    assert all("3" in s.argv for s in steps if "--seed" in s.argv)


def test_the_lead_report_reads_the_comparison_and_model_the_cli_saved():
    from forecasting.paths import models_dir

    (lead,) = [s for s in plan("/data/crm.duckdb", "/out", 0, REPORTS) if s.report == "lead_scoring_comparison"]
    assert lead.params == {"source": "/data/crm.duckdb", "saved_comparison": "/out/leads",
                           "model": str(models_dir() / "demo"), "seed": 0}
    assert lead.after == ("leads train",) and lead.out == "/out/reports/lead_scoring_comparison"


def test_the_pipeline_and_revenue_reports_read_the_backtest_and_blend_the_cli_saved():
    steps = {s.name: s for s in plan("/data/crm.duckdb", "/out", 3, REPORTS)}
    pipeline, revenue = steps["report pipeline_forecast"], steps["report revenue_forecast"]
    assert pipeline.params == {"source": "/data/crm.duckdb", "saved_backtest": "/out/pipeline_backtest", "seed": 3}
    assert pipeline.after == ("pipeline backtest",)
    assert revenue.params == {"source": "/data/crm.duckdb", "saved_blend": "/out/revenue_blend",
                              "blend_backtest_periods": "2025Q1:2026Q2", "seed": 3}
    assert revenue.after == ("revenue blend",)
    blend = steps["revenue blend"].argv  # the report asks for the blend the CLI step makes
    assert blend[blend.index("--backtest-periods") + 1] == "2025Q1:2026Q2" and "--out" in blend
    assert blend[blend.index("--out") + 1] == "/out/revenue_blend"
    assert blend[blend.index("--pipeline-backtest") + 1] == "/out/pipeline_backtest"
    assert steps["revenue blend"].after == ("pipeline backtest",)
    backtest = steps["pipeline backtest"].argv  # holds the blend's periods and the report's last 8 (2024Q3:2026Q2)
    assert backtest[backtest.index("--periods") + 1] == "2024Q1:2026Q2"


def test_the_longest_chains_start_first():
    names = [s.name for s in plan("/data/crm.duckdb", "/out", 0, REPORTS)]
    assert names[:3] == ["pipeline backtest", "leads compare", "revenue blend"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_step_skips_the_steps_after_it_and_the_others_run(tmp_path, jobs, capsys):
    broken = ("leads", "compare", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "leads"))
    data = ("data", "demo", "--out", str(tmp_path / "demo"), "--seed", "1")
    steps = [Step("compare", broken), Step("train", data, after=("compare",)),
             Step("score", data, after=("train",)), Step("data", data)]
    results = run_steps(steps, jobs)
    assert {name: r[0] for name, r in results.items()} == {
        "compare": "FAILED (exit 2)", "train": "skipped (compare failed)", "score": "skipped (train failed)",
        "data": "ok"}
    assert (tmp_path / "demo" / "crm.duckdb").is_file()
    assert all(seconds >= 0 and cpu >= 0 for _, seconds, cpu in results.values())
    assert "[demo] train: skipped (compare failed)" in capsys.readouterr().err


def test_jobs_below_one_is_refused(capsys):
    assert main(["demo", "--jobs", "0"]) == 2
    assert "demo.jobs: --jobs must be 1 or more, got 0" in capsys.readouterr().err


def test_the_timing_table_sums_the_steps_and_gives_the_wall_clock(capsys):
    from forecasting.cli.demo import _timing_table

    _timing_table({"data": ("ok", 0.7, 0.6), "leads compare": ("FAILED (exit 1)", 40.0, 38.2)}, 30.5, 2)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].split() == ["step", "status", "seconds", "cpu", "s"]
    assert lines[2].split() == ["leads", "compare", "FAILED", "(exit", "1)", "40.0", "38.2"]
    assert lines[3].split()[-2:] == ["40.7", "38.8"] and lines[4].split()[-1] == "30.5"


def test_a_step_stops_the_joblib_workers_it_started():
    # Idle loky workers live 300 s and kept a demo worker (and so the whole demo) waiting for them.
    from joblib import Parallel, delayed
    from joblib.externals.loky import reusable_executor

    from forecasting.cli.demo import _stop_joblib_workers

    assert Parallel(n_jobs=2, backend="loky")(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]
    workers = list(reusable_executor._executor._processes.values())
    assert workers and all(w.is_alive() for w in workers)
    _stop_joblib_workers()
    assert not any(w.is_alive() for w in workers)
