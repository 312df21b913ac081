"""`forecasting revenue blend`: the pipeline and time-series forecasts blended end to end on the demo CRM."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.revenue.blend import BLEND_COLUMNS

# A short backtest keeps the run under half a minute; "historical" needs no model per period.
ARGS = ["demo", "--stage-history", "demo", "--as-of", "2026-06-30", "--backtest-periods", "2026Q1:2026Q2",
        "--pipeline-method", "historical", "--seed", "3"]


@pytest.fixture(scope="module")
def blend_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("blend") / "out"
    assert main(["revenue", "blend", *ARGS, "--out", str(out)]) == 0
    return out


def test_blend_writes_the_three_methods_for_the_quarter_after_the_as_of_date(blend_run):
    blend = pd.read_csv(blend_run / "blend.csv")
    assert list(blend.columns) == list(BLEND_COLUMNS)
    assert blend["period"].tolist() == ["2026Q3"] * 3  # 2026-06-30 closes 2026Q2: 2026Q3 is still open
    assert blend["method"].tolist() == ["pipeline", "time_series", "blend"]
    assert (blend["p10"] <= blend["p50"]).all() and (blend["p50"] <= blend["p90"]).all()
    record = json.loads((blend_run / "run.json").read_text())
    assert record["status"] == "ok" and record["command"] == "revenue blend"
    assert (record["period"], record["backtest_periods"]) == ("2026Q3", "2026Q1:2026Q2")
    assert (blend_run / "blend.png").stat().st_size > 10_000


def test_blended_p50_is_the_weighted_average_of_the_methods(blend_run):
    blend = pd.read_csv(blend_run / "blend.csv").set_index("method")
    w = blend.loc[["pipeline", "time_series"], "weight"]
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    p50 = blend["p50"]
    assert p50["blend"] == pytest.approx(w["pipeline"] * p50["pipeline"] + w["time_series"] * p50["time_series"])
    assert min(p50["pipeline"], p50["time_series"]) < p50["blend"] < max(p50["pipeline"], p50["time_series"])


def test_weights_are_inverse_mse_of_the_written_backtest(blend_run):
    past = pd.read_csv(blend_run / "blend_backtest.csv")
    assert past["period"].unique().tolist() == ["2026Q1", "2026Q2"]
    mse = {m: float(np.mean((part["actual"] - part["p50"]) ** 2)) for m, part in past.groupby("method")}
    inverse = {m: 1 / mse[m] for m in ("pipeline", "time_series")}
    weights = pd.read_csv(blend_run / "blend.csv").set_index("method")["weight"]
    assert weights["pipeline"] == pytest.approx(inverse["pipeline"] / sum(inverse.values()))
    metrics = pd.read_csv(blend_run / "blend_metrics.csv")
    assert metrics["method"].tolist() == ["pipeline", "time_series", "blend"]
    assert metrics["n_periods"].tolist() == [2, 2, 2] and metrics["coverage_80"].between(0, 1).all()


def test_the_pipeline_row_is_the_pipeline_forecast(blend_run, tmp_path):
    out = tmp_path / "pipeline"
    assert main(["pipeline", "forecast", "--opportunities", "demo", "--stage-history", "demo", "--as-of",
                 "2026-06-30", "--period", "2026Q3", "--method", "historical", "--seed", "3",
                 "--out", str(out)]) == 0
    total = pd.read_csv(out / "forecast.csv").set_index("group").loc["all"]
    row = pd.read_csv(blend_run / "blend.csv").set_index("method").loc["pipeline"]
    np.testing.assert_allclose(row[["p10", "p50", "p90"]].astype(float), total[["p10", "p50", "p90"]].astype(float))


@pytest.mark.parametrize("bad, message", [
    (["--period", "2026Q9"], "'2026Q9' is not a period"),
    (["--backtest-periods", "2026Q1:2026Q3"], "end after the as-of date 2026-06-30"),
])
def test_bad_periods_exit_2_and_write_nothing(tmp_path, capsys, bad, message):
    out = tmp_path / "out"
    assert main(["revenue", "blend", *ARGS, *bad, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad input" in err and message in err and "Traceback" not in err
    assert not out.exists()
