"""Public-data acceptance matrix: every public dataset, every CLI command, as a user would run them.

Each dataset goes through ``forecasting data public NAME`` (M3 and tourism: then a sample of
three series), and each command runs on that file with only SOURCE, ``--stages`` and ``--map``
given (plus the options a command requires, taken from the data: dates, periods). A cell is
``ok`` (exit 0 and sane outputs: no NaN/inf where a number is due, no negative money, ranges that
contain their P50, no leaky column among the features, a lead AUC in its honest range, Maven's
default pipeline range covering 2 of its 3 backtest quarters) or ``exit 2`` where the dataset truly
lacks the table the command needs (the message names it). Known failures in areas being fixed elsewhere
are ``xfail(strict=False)`` with the reason in :data:`KNOWN`.

The matrix (dataset x command -> ok / exit 2 / FAIL reason) is printed after the module runs.
The data is found as :func:`forecasting.data.public.shared_data_dir` finds it
(``$FORECASTING_SHARED_DATA`` or ``../shared/data``). Without it the module skips, unless
``FORECASTING_REQUIRE_SHARED=1`` (or CI's ``FORECASTING_REQUIRE_ALL=1``): then it fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.data import public as A

pytestmark = pytest.mark.usefixtures("quiet_one_thread")

REQUIRED = "1" in (os.environ.get("FORECASTING_REQUIRE_SHARED"), os.environ.get("FORECASTING_REQUIRE_ALL"))
SAMPLE_SERIES = 3  # M3 / tourism: series per sample (the full sets take minutes) ...
SAMPLE_PERIODS = 96  # ... and their last 8 years of monthly training data

# Honest ROC AUC of `leads compare` (logistic, 3 time-ordered folds) without the leaky columns
# (measured: X Education 0.872, every 4th bank lead 0.704); with them 0.981 and 0.845 (all leads).
# Olist has one feature (source) whose conversion rates drift: no signal survives time-ordered folds.
HONEST_AUC = {"x_education": (0.80, 0.93), "bank_marketing": (0.60, 0.85), "olist": (0.35, 0.75)}


@dataclass(frozen=True)
class Dataset:
    name: str
    tables: frozenset      # canonical tables the file holds
    revenue: str = ""      # SOURCE suffix of the revenue table (":train" for M3 / tourism)
    every: int = 1         # leads: keep every n-th lead (in file order, so time order) for speed
    map: tuple = ()        # --map arguments
    as_of: str = ""        # pipeline: forecast date and period (from the data's last record)
    period: str = ""
    periods: str = ""      # pipeline backtest range ...
    coverage: float = 0.0  # ... and the share of its periods the default method's P10-P90 must cover


DATASETS = {
    "x_education": Dataset("x_education", frozenset({"leads"})),
    "bank_marketing": Dataset("bank_marketing", frozenset({"leads"}), every=4),
    "olist": Dataset("olist", frozenset({"leads"})),
    "maven_crm": Dataset("maven_crm", frozenset({"opportunities"}), as_of="2017-12-31", period="2018Q1",
                         periods="2017Q2:2017Q4", coverage=2 / 3),
    "superstore": Dataset("superstore", frozenset({"revenue"})),
    "m3": Dataset("m3", frozenset({"revenue"}), revenue=":train", map=("--map", "series=segment")),
    "tourism": Dataset("tourism", frozenset({"revenue"}), revenue=":train", map=("--map", "series=segment")),
}
COMMANDS = ("data check", "leads compare", "leads train", "leads score", "kpis", "pipeline forecast",
            "pipeline backtest", "revenue forecast", "revenue backtest")
NEEDS = {"leads compare": "leads", "leads train": "leads", "leads score": "leads", "kpis": "opportunities",
         "pipeline forecast": "opportunities", "pipeline backtest": "opportunities",
         "revenue forecast": "revenue", "revenue backtest": "revenue"}

# (dataset, command) -> why it fails today; another engineer's area, re-run when it lands.
# Empty at 12:45 UTC on 2026-12-07: every cell passed (Maven's default P10-P90 covers 2 of 3 quarters).
KNOWN: dict[tuple[str, str], str] = {}


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def root():
    try:
        return A.shared_data_dir()
    except FileNotFoundError as exc:
        if REQUIRED:
            pytest.fail(f"FORECASTING_REQUIRE_SHARED=1 but the public datasets are missing: {exc}")
        pytest.skip(f"public datasets not available: {exc}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("public")


@pytest.fixture(scope="module")
def files(root, workdir):
    """Dataset -> DuckDB file written by ``forecasting data public`` (made on first use)."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            path = workdir / f"{name}.duckdb"
            assert main(["data", "public", name, "--out", str(path), "--root", str(root)]) == 0
            if DATASETS[name].revenue:
                path = _sample_series(path, workdir / f"{name}_sample.duckdb")
            if DATASETS[name].every > 1:
                path = _sample_leads(path, workdir / f"{name}_sample.duckdb", DATASETS[name].every)
            made[name] = path
        return made[name]

    return get


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}"').df() for t in names}


def _sample_series(path: Path, out: Path) -> Path:
    """Every table of a long ``series, date, amount`` file, for a few series spread over the set."""
    from forecasting.data.io import write_duckdb

    tables = _tables(path)
    names = tables["series"]["series"].sort_values().to_numpy()
    pick = set(names[:: len(names) // SAMPLE_SERIES][:SAMPLE_SERIES])
    tables = {t: f[f["series"].isin(pick)].reset_index(drop=True) for t, f in tables.items()}
    tables["train"] = tables["train"].groupby("series", sort=False).tail(SAMPLE_PERIODS).reset_index(drop=True)
    return write_duckdb(tables, out)


def _sample_leads(path: Path, out: Path, every: int) -> Path:
    """Every table of a leads file, for every ``every``-th lead."""
    from forecasting.data.io import write_duckdb

    tables = _tables(path)
    keep = set(tables["leads"]["lead_id"].iloc[::every])
    return write_duckdb({t: f[f["lead_id"].isin(keep)].reset_index(drop=True) for t, f in tables.items()}, out)


# --------------------------------------------------------------------------- matrix


@pytest.fixture(scope="module")
def matrix(request):
    """Outcome per (dataset, command), printed when the module is done."""
    cells: dict[tuple[str, str], str] = {}
    yield cells
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not cells:
        return
    width = max(len(c) for c in COMMANDS)
    with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
        reporter.write_line("")
        reporter.write_line("public-data matrix (dataset x command):")
        for name in DATASETS:
            for command in COMMANDS:
                if (name, command) in cells:
                    reporter.write_line(f"  {name:<15} {command:<{width}}  {cells[name, command]}")


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """Exit code and stderr of one command run in this process (argparse errors included)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse refusing an option
        code = exc.code
    return code, capsys.readouterr().err


def _cells():
    for name in DATASETS:
        for command in COMMANDS:
            marks = ()
            if (name, command) in KNOWN:
                marks = pytest.mark.xfail(strict=False, reason=KNOWN[name, command])
            yield pytest.param(name, command, id=f"{name}-{command.replace(' ', '_')}", marks=marks)


@pytest.mark.parametrize(("name", "command"), list(_cells()))
def test_public_dataset_command(name, command, files, workdir, matrix, capsys):
    data = DATASETS[name]
    source = files(name)
    needs = NEEDS.get(command)
    if command == "leads score" and needs not in data.tables:
        matrix[name, command] = "n/a (no leads, so no model to score with)"
        return
    matrix[name, command] = "FAIL"
    try:
        code, err = run_cli(_args(command, data, source, workdir / name), capsys)
        if needs and needs not in data.tables:  # a clear refusal naming the missing table
            assert code == 2 and f"table {needs!r} not found" in err, f"exit {code}: {err.strip()[-300:]}"
            matrix[name, command] = f"exit 2 (no {needs} table)"
            return
        assert code == 0, f"exit {code}: {err.strip()[-400:]}"
        note = CHECKS.get(command, lambda *_: None)(data, workdir / name, err)
        matrix[name, command] = f"ok ({note})" if note else "ok"
    except AssertionError as exc:
        matrix[name, command] = "FAIL: " + " ".join(str(exc).split())[:150]
        raise


def _args(command: str, data: Dataset, source: Path, out: Path) -> list:
    """The command line of one cell: SOURCE, --stages, --map and what the command requires."""
    stages = source.with_suffix(".stages.yaml")
    stage_args = ["--stages", stages] if stages.exists() else []
    opportunities = ["--opportunities", source, *stage_args, *data.map]
    as_of, period = data.as_of or "2020-12-31", data.period or "2021Q1"
    leads = [source, *data.map]
    return {
        "data check": ["data", "check", *_check_args(data, source, stage_args)],
        "leads compare": ["leads", "compare", *leads, "--out", out / "compare", "--folds", 3,
                          "--models", "rule_scorecard,logistic", "--n-boot", 50],
        "leads train": ["leads", "train", *leads, "--model", "logistic", "--out", out / "model"],
        "leads score": ["leads", "score", *leads, "--model", _model(data, source, out),
                        "--out", out / "scores.csv"],
        "kpis": ["kpis", *opportunities, "--out", out / "kpis"],
        "pipeline forecast": ["pipeline", "forecast", *opportunities, "--as-of", as_of, "--period", period,
                              "--sims", 2000, "--out", out / "forecast"],
        "pipeline backtest": ["pipeline", "backtest", *opportunities, "--periods",
                              data.periods or "2020Q1:2020Q4", "--sims", 500, "--out", out / "backtest"],
        "revenue forecast": ["revenue", "forecast", f"{source}{data.revenue}", *data.map,
                             "--out", out / "revenue_forecast"],
        "revenue backtest": ["revenue", "backtest", f"{source}{data.revenue}", *data.map,
                             "--out", out / "revenue_backtest"],
    }[command]


def _check_args(data: Dataset, source: Path, stage_args: list) -> list:
    (kind,) = data.tables
    if kind == "leads":
        return ["leads", source, "--label"]
    if kind == "opportunities":
        return ["opportunities", source, *stage_args]
    return ["revenue", f"{source}{data.revenue}", *data.map]


def _model(data: Dataset, source: Path, out: Path) -> Path:
    """The model of the ``leads train`` cell (trained here if that cell did not run first)."""
    model = out / "model"
    if "leads" in data.tables and not (model / "card.json").exists():
        assert main(["leads", "train", str(source), "--model", "logistic", "--out", str(model)]) == 0
    return model


# --------------------------------------------------------------------------- output checks


def _finite(frame: pd.DataFrame, columns, what: str) -> None:
    values = frame[list(columns)].to_numpy(dtype=float)
    assert np.isfinite(values).all(), f"{what}: NaN/inf in {[c for c in columns if not np.isfinite(frame[c]).all()]}"


def _ordered(frame: pd.DataFrame, columns, what: str) -> None:
    """Each row's values never decrease along ``columns`` (e.g. p10 <= p50 <= p90)."""
    values = frame[list(columns)].to_numpy(dtype=float)
    bad = np.diff(values, axis=1).min(axis=1) < -1e-9 * np.maximum(1, np.abs(values).max(axis=1))
    example = frame[bad].head(2).to_dict("records")
    assert not bad.any(), f"{what}: {columns} out of order in {int(bad.sum())} rows, e.g. {example}"


LEAKY = {  # the adapters' lists (PROVENANCE.md): known only after the outcome
    "x_education": {"tags", "lead_quality", "lead_profile", "last_activity", "last_notable_activity",
                    "asymmetrique_activity_index", "asymmetrique_profile_index",
                    "asymmetrique_activity_score", "asymmetrique_profile_score"},
    "bank_marketing": {"duration"},
}


def _leaky_columns(name: str) -> set[str]:
    return LEAKY.get(name, set())


def check_compare(data: Dataset, out: Path, err: str) -> None:
    board = pd.read_csv(out / "compare" / "leaderboard.csv")
    _finite(board, ["roc_auc", "roc_auc_lo", "roc_auc_hi", "pr_auc", "log_loss", "brier"], "leaderboard")
    _ordered(board, ["roc_auc_lo", "roc_auc", "roc_auc_hi"], "leaderboard")
    features = pd.read_csv(out / "compare" / "features.csv")
    used = set(features.loc[features["used"], "column"])
    assert not used & _leaky_columns(data.name), f"leaky columns used: {used & _leaky_columns(data.name)}"
    assert "rule_scorecard" not in set(board["model"]) and "rule_scorecard skipped" in err
    lo, hi = HONEST_AUC[data.name]
    auc = board.loc[board["model"] == "logistic", "roc_auc"].iloc[0]
    assert lo <= auc <= hi, f"logistic ROC AUC {auc:.3f} outside the honest range [{lo}, {hi}]"
    return f"logistic ROC AUC {auc:.3f}, {len(used)} features"


def check_train(data: Dataset, out: Path, err: str) -> None:
    card = json.loads((out / "model" / "card.json").read_text())
    assert card["features"] and not set(card["features"]) & _leaky_columns(data.name)
    assert 0 < card["threshold"]["threshold"] < 1


def check_score(data: Dataset, out: Path, err: str) -> None:
    scores = pd.read_csv(out / "scores.csv")
    assert list(scores.columns[:4]) == ["lead_id", "score", "grade", "reasons"]
    assert scores["lead_id"].is_unique and len(scores) > 0
    assert scores["score"].between(0, 1).all(), "scores outside 0..1 or missing"
    assert set(scores["grade"]) <= set("ABCD")


def check_kpis(data: Dataset, out: Path, err: str) -> None:
    kpis = pd.read_csv(out / "kpis" / "kpis.csv")
    assert len(kpis) > 0
    numbers = kpis.select_dtypes("number")
    assert not np.isinf(numbers.to_numpy(dtype=float)).any(), "inf in kpis.csv"
    _finite(kpis, ["deals_won", "deals_lost", "revenue_won"], "kpis")
    assert (kpis["revenue_won"] >= 0).all() and kpis["win_rate"].dropna().between(0, 1).all()


def check_pipeline_forecast(data: Dataset, out: Path, err: str) -> None:
    forecast = pd.read_csv(out / "forecast" / "forecast.csv")
    money = ["closed_won", "open_pipeline", "weighted", "p10", "p50", "p90"]
    _finite(forecast, money, "forecast.csv")
    assert (forecast[money] >= 0).all().all(), "negative money in forecast.csv"
    _ordered(forecast, ["p10", "p50", "p90"], "forecast.csv")
    assert (forecast["group"] == "all").sum() == 1
    total = forecast[forecast["group"] == "all"].iloc[0]
    return f"P10/P50/P90 {total.p10:,.0f} / {total.p50:,.0f} / {total.p90:,.0f}"


def check_pipeline_backtest(data: Dataset, out: Path, err: str) -> None:
    backtest = pd.read_csv(out / "backtest" / "backtest.csv")
    _finite(backtest, ["actual", "p10", "p50", "p90"], "backtest.csv")
    assert (backtest[["actual", "p10", "p50", "p90"]] >= 0).all().all(), "negative money in backtest.csv"
    _ordered(backtest, ["p10", "p50", "p90"], "backtest.csv")
    metrics = pd.read_csv(out / "backtest" / "metrics.csv")
    _finite(metrics, ["wape", "coverage_80"], "metrics.csv")
    covered = metrics.set_index("method").loc["default", "coverage_80"]
    assert covered >= data.coverage - 1e-9, (
        f"default P10-P90 covers {covered:.0%} of the periods (< {data.coverage:.0%})")
    return "coverage_80 " + ", ".join(f"{m} {c:.2f}" for m, c in zip(metrics["method"], metrics["coverage_80"]))


def check_revenue_forecast(data: Dataset, out: Path, err: str) -> None:
    forecast = pd.read_csv(out / "revenue_forecast" / "forecast.csv")
    bands = ["lo_95", "lo_80", "mean", "hi_80", "hi_95"]
    _finite(forecast, bands, "forecast.csv")
    _ordered(forecast, bands, "forecast.csv")
    assert (forecast[bands] >= 0).all().all(), (
        "negative revenue bounds for a non-negative series: "
        + str(forecast.loc[(forecast[bands] < 0).any(axis=1), ["series", "date", "lo_95"]].head(3).to_dict("records")))


def check_revenue_backtest(data: Dataset, out: Path, err: str) -> None:
    metrics = pd.read_csv(out / "revenue_backtest" / "metrics.csv")
    _finite(metrics, ["mase", "smape", "wape", "coverage_80", "coverage_95"], "metrics.csv")
    assert metrics[["coverage_80", "coverage_95"]].stack().between(0, 1).all()
    best = metrics.sort_values("mase").iloc[0]
    return f"best {best.model}: MASE {best.mase:.2f}, coverage_80 {best.coverage_80:.2f}"


CHECKS: dict[str, Callable] = {
    "leads compare": check_compare,
    "leads train": check_train,
    "leads score": check_score,
    "kpis": check_kpis,
    "pipeline forecast": check_pipeline_forecast,
    "pipeline backtest": check_pipeline_backtest,
    "revenue forecast": check_revenue_forecast,
    "revenue backtest": check_revenue_backtest,
}
