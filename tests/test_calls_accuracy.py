"""Accuracy by week of quarter on a simulated team whose reps' biases are known."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.calls import check_calls, hierarchy
from forecasting.calls.accuracy import call_accuracy, convergence, plot_convergence, week_ends
from forecasting.pipeline import PipelineData

REPS = {"ava": ("mia", 0.8), "bo": ("mia", 1.25), "cy": ("leo", 1.0), "dee": ("leo", 0.9)}
PERIODS = [str(p) for p in pd.period_range("2025Q1", "2026Q2", freq="Q")]


def call_world(seed: int = 0, noise: float = 0.05):
    """Four reps under two managers under a VP; every rep calls ``bias x actual`` (times noise that fades
    over the quarter) every Monday; managers never override. Deals are created 30 days before their quarter
    and each rep wins 2-5 of them in it; ``truth`` holds the actuals per rep and period."""
    rng = np.random.default_rng(seed)
    team = pd.DataFrame({"owner": ["vic", "mia", "leo", *REPS], "manager": [None, "vic", "vic",
                                                                               *(m for m, _ in REPS.values())]})
    opps, hist, calls, truth = [], [], [], []
    for period in PERIODS:
        p = pd.Period(period)
        begin, end = p.start_time, p.end_time.normalize()
        for rep, (_, bias) in REPS.items():
            n = int(rng.integers(2, 6))
            amounts = np.round(rng.uniform(5_000, 50_000, n), -2)
            closes = begin + pd.to_timedelta(rng.integers(0, (end - begin).days, n), unit="D")
            for k, (amount, close) in enumerate(zip(amounts, closes)):
                oid = f"{rep}-{period}-{k}"
                created = begin - pd.Timedelta(days=30)
                opps.append((oid, "acct", rep, amount, created, "Closed Won", close, "won"))
                hist += [(oid, "Proposal", created, amount, end), (oid, "Closed Won", close, amount, close)]
            actual = float(amounts.sum())
            truth.append((rep, period, actual))
            for week, as_of in enumerate(week_ends(period), start=1):
                shake = 1 + noise * rng.normal() * (1 - week / 14)
                calls.append((rep, period, as_of - pd.Timedelta(days=6), round(bias * actual * shake, 2),
                              round(1.3 * bias * actual * shake, 2)))
    opps = pd.DataFrame(opps, columns=["opportunity_id", "account_id", "owner", "amount", "created_at", "stage",
                                       "close_date", "status"])
    hist = pd.DataFrame(hist, columns=["opportunity_id", "stage", "entered_at", "amount", "close_date"])
    calls = pd.DataFrame(calls, columns=["owner", "period", "submitted_at", "commit", "best_case"])
    return team, calls, opps, hist, pd.DataFrame(truth, columns=["person", "period", "actual"])


@pytest.fixture(scope="module")
def world():
    team, calls, opps, hist, truth = call_world()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = PipelineData.build(opps, hist)
        h = hierarchy(team)
        acc = call_accuracy(h, check_calls(calls, h), periods=PERIODS, model_method=None, data=data)
    return acc, truth


def test_actuals_are_each_persons_won_revenue_and_their_teams(world):
    acc, truth = world
    actual = acc.drop_duplicates(["person", "period"]).set_index(["person", "period"])["actual"]
    expected = truth.set_index(["person", "period"])["actual"]
    assert np.allclose(actual.reindex(expected.index), expected)
    mia = expected.loc[["ava", "bo"]].groupby(level="period").sum()
    assert np.allclose(actual.xs("mia").reindex(mia.index), mia)
    assert np.allclose(actual.xs("all").reindex(PERIODS), expected.groupby(level="period").sum().reindex(PERIODS))


def test_a_rep_who_calls_80_percent_shows_a_minus_20_percent_bias(world):
    acc, _ = world
    bias = acc[acc["source"] == "call"].groupby("person")["bias"].mean()
    assert bias["ava"] == pytest.approx(-0.2, abs=0.02) and bias["bo"] == pytest.approx(0.25, abs=0.02)
    assert abs(bias["cy"]) < 0.02


def test_calls_converge_and_the_weighted_pipeline_ends_at_the_actual(world):
    acc, _ = world
    table = convergence(acc[acc["person"] == "cy"], person="cy")
    assert table["call"].iloc[-1] < table["call"].iloc[0]  # the noise fades over the quarter
    weighted = acc[(acc["source"] == "weighted")]
    last = weighted[weighted["week"] == weighted.groupby("period")["week"].transform("max")]
    assert np.allclose(last["forecast"], last["actual"])  # every deal won by the last day
    assert list(acc.columns[:8]) == ["source", "person", "period", "week", "forecast", "actual", "error", "bias"]
    assert set(acc["week"]) == set(range(1, 15)) and (acc["error"] >= 0).all()


def test_convergence_figure_draws_one_line_per_source(world):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc, _ = world
    fig, ax = plt.subplots()
    assert plot_convergence(acc, ax=ax) is ax
    assert sorted(line.get_label() for line in ax.get_lines()) == ["call", "weighted"]
    plt.close(fig)


# --- CLI ------------------------------------------------------------------------------------


def _db(tmp_path, rename=None) -> str:
    """The call world in one DuckDB file; ``rename`` renames people in team and calls (not in deals)."""
    import duckdb

    t, calls, opps, hist, _ = call_world()
    if rename:
        t = t.assign(owner=t["owner"].map(rename), manager=t["manager"].map(rename))
        calls = calls.assign(owner=calls["owner"].map(rename))
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        for name, frame in (("team", t), ("forecast_calls", calls),
                            ("opportunities", opps), ("stage_history", hist)):
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    return str(path)


def test_cli_accuracy_writes_accuracy_convergence_and_figure(tmp_path):
    import json

    from forecasting.cli import main

    out = tmp_path / "out"
    assert main(["calls", "accuracy", "--source", _db(tmp_path), "--periods", "2025Q3:2025Q4",
                 "--model-method", "none", "--out", str(out)]) == 0
    acc = pd.read_csv(out / "accuracy.csv")
    assert set(acc["period"]) == {"2025Q3", "2025Q4"} and set(acc["source"]) == {"call", "weighted"}
    assert (out / "convergence.png").stat().st_size > 0
    assert set(pd.read_csv(out / "combined.csv")["source"]) == {"combined"}
    assert "combined_wins" in pd.read_csv(out / "backtest.csv").columns
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["exact_snapshot"] is True


def test_cli_accuracy_team_owning_no_deals_exits_2(tmp_path, capsys):
    from forecasting.cli import main

    out = tmp_path / "out"
    assert main(["calls", "accuracy", "--source", _db(tmp_path, rename=lambda n: n.upper() if isinstance(n, str) else n), "--model-method", "none",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "team.owner: names nobody who owns a deal" in err and "VIC" in err and not out.exists()
