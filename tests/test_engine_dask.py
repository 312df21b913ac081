"""``engine="dask"`` on a LocalCluster of 2 worker processes gives the local engine's results
exactly: lead scores from partitioned Parquet, revenue forecasts and backtests of many series."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.data import DataError
from forecasting.data.validate import DataWarning
from forecasting.leads import ModelError, score_source
from forecasting.revenue import backtest, forecast
from forecasting.revenue.models import ETS

distributed = pytest.importorskip("distributed")


# `leads` and `model_dir` come from tests/leads_fixtures.py.
pytestmark = pytest.mark.usefixtures("quiet_one_thread")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def partitioned(leads, tmp_path_factory):
    """600 leads in 3 Parquet files of row groups of 70 rows (parts of unequal size)."""
    folder = tmp_path_factory.mktemp("leads")
    for i in range(3):
        leads.iloc[200 * i:200 * (i + 1)].to_parquet(folder / f"leads-{i}.parquet", row_group_size=70)
    return folder


@pytest.mark.parametrize("chunksize", [50, 1000])
def test_dask_scores_partitioned_parquet_exactly_like_the_local_engine(model_dir, partitioned, tmp_path,
                                                                       cluster, chunksize):
    local = score_source(model_dir, str(partitioned), tmp_path / "local.parquet", chunksize=chunksize)
    one_file = score_source(model_dir, str(partitioned), tmp_path / "dask.parquet", chunksize=chunksize,
                            engine="dask", scheduler=cluster, drift_out=tmp_path / "dask_drift.csv")
    folder = score_source(model_dir, str(partitioned), tmp_path / "parts", chunksize=chunksize,
                          engine="dask", scheduler=cluster, drift_out=None)
    expected = pd.read_parquet(tmp_path / "local.parquet")
    assert len(expected) == 600 and expected["lead_id"].is_unique
    # Bit for bit: same scores, grades, reasons and row order, in one file or in parts.
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask.parquet"), expected, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "parts"), expected, check_exact=True)
    parts = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert parts == [f"part-{i:05d}.parquet" for i in range(len(parts))] and len(parts) > 1
    assert one_file.rows == folder.rows == 600
    pd.testing.assert_frame_equal(one_file.drift, local.drift)
    assert local.drift["n"].eq(600).all()


def test_dask_scores_a_csv_source_into_the_same_csv_bytes(model_dir, leads, tmp_path, cluster):
    source = tmp_path / "leads.csv"
    leads.to_csv(source, index=False)
    score_source(model_dir, str(source), tmp_path / "local.csv", chunksize=128, drift_out=None)
    score_source(model_dir, str(source), tmp_path / "dask.csv", chunksize=128, drift_out=None,
                 engine="dask", scheduler=cluster)
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_a_corrupt_part_is_bad_input_and_writes_nothing(model_dir, partitioned, tmp_path, cluster):
    source = tmp_path / "leads"
    source.mkdir()
    for part in partitioned.iterdir():
        (source / part.name).write_bytes(part.read_bytes())
    (source / "leads-9.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataError, match="cannot read the leads to score"):
        score_source(model_dir, str(source), tmp_path / "out.parquet", engine="dask", scheduler=cluster)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads"]


def test_a_folder_output_never_replaces_a_folder_of_other_files(model_dir, partitioned, tmp_path):
    keep = tmp_path / "reports" / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("mine")
    with pytest.raises(DataError, match="is not a folder of scores"):
        score_source(model_dir, str(partitioned), tmp_path / "reports", drift_out=None)
    assert [p.name for p in keep.parent.iterdir()] == ["notes.txt"]
    # A previous folder of parts is replaced whole: no stale part is left behind. Chunks never span
    # row groups, so 3 files x 3 row groups give 18 chunks of <= 50 rows, then 9 of <= 1000.
    score_source(model_dir, str(partitioned), tmp_path / "parts", chunksize=50, drift_out=None)
    assert len(list((tmp_path / "parts").iterdir())) == 18
    score_source(model_dir, str(partitioned), tmp_path / "parts", chunksize=1000, drift_out=None)
    assert len(list((tmp_path / "parts").iterdir())) == 9 and len(pd.read_parquet(tmp_path / "parts")) == 600


def test_workers_load_the_model_with_the_store_checks(model_dir):
    from forecasting.leads.scoring import _worker_model

    files = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    with pytest.raises(ModelError, match="refusing a folder holding pickle files"):
        _worker_model({"digest": "with-a-pickle", "files": {**files, "model.pkl": b"\x80\x04N."}})
    assert _worker_model({"digest": "plain", "files": files}).features


def _series(n_series: int = 20) -> pd.DataFrame:
    """Seasonal monthly series with trend and noise, one constant and one too short for ETS."""
    frames = []
    for i in range(n_series):
        n = 18 if i == 0 else 36 + i % 12
        t = np.arange(n)
        noise = np.random.default_rng(i).normal(0, 2, n)
        amount = 100 + 10 * i + 0.8 * t + 12 * np.sin(2 * np.pi * t / 12) + noise
        if i == 1:
            amount = np.full(n, 50.0)
        dates = pd.date_range(end="2025-12-01", periods=n, freq="MS")
        frames.append(pd.DataFrame({"segment": f"s{i:02d}", "date": dates, "amount": amount}))
    return pd.concat(frames, ignore_index=True)


def _recorded(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def test_dask_forecast_and_backtest_of_20_series_equal_the_local_engine(cluster):
    revenue = _series()
    # Multiplicative-error ETS: intervals come from a seeded simulation, so equal frames need equal seeds.
    model = ETS(model="MAN", seed=7)
    local, local_warnings = _recorded(forecast, revenue, 6, model=model)
    on_dask, dask_warnings = _recorded(forecast, revenue, 6, model=model, engine="dask", scheduler=cluster)
    pd.testing.assert_frame_equal(on_dask, local, check_exact=True)
    other_seed = forecast(revenue, 6, model=ETS(model="MAN", seed=8))
    assert (other_seed["lo_95"] != local["lo_95"]).mean() > 0.8
    assert local["series"].nunique() == 21 and set(local.loc[local["series"] == "s00", "model"]) == {"SeasonalNaive"}
    assert dask_warnings == local_warnings and any("'s01' is constant" in w for w in local_warnings)
    models = ["naive", "seasonal_naive", "theta"]
    cv_local = backtest(revenue, 3, folds=2, models=models, seed=7)
    cv_dask = backtest(revenue, 3, folds=2, models=models, seed=7, engine="dask", scheduler=cluster)
    pd.testing.assert_frame_equal(cv_dask, cv_local, check_exact=True)
    assert len(cv_local) == 20 * 2 * 3 * 3


def test_cli_runs_on_dask_end_to_end(model_dir, partitioned, tmp_path, cluster):
    revenue = tmp_path / "revenue.csv"
    _series(6).to_csv(revenue, index=False)
    args = ["revenue", "backtest", str(revenue), "--horizon", "3", "--folds", "2", "--models", "naive,theta"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "dask"), "--engine", "dask", "--scheduler", cluster]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "dask" / "cv.csv"), pd.read_csv(tmp_path / "local" / "cv.csv"))
    score = ["leads", "score", str(partitioned), "--model", str(model_dir), "--chunksize", "100"]
    assert main([*score, "--out", str(tmp_path / "scores.csv")]) == 0
    # No --scheduler: a LocalCluster of 2 workers is started for the command and closed after it.
    assert main([*score, "--out", str(tmp_path / "dask_scores.csv"), "--engine", "dask"]) == 0
    assert (tmp_path / "dask_scores.csv").read_bytes() == (tmp_path / "scores.csv").read_bytes()


def test_an_unreachable_scheduler_exits_2_with_a_message(model_dir, partitioned, tmp_path, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["leads", "score", str(partitioned), "--model", str(model_dir), "--out",
                     str(tmp_path / "s.csv"), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "engine: cannot reach the Dask scheduler at tcp://127.0.0.1:1" in err
    assert not (tmp_path / "s.csv").exists()


def test_a_bad_engine_name_exits_2(model_dir, partitioned, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["leads", "score", str(partitioned), "--model", str(model_dir), "--out", str(tmp_path / "s.csv"),
              "--engine", "spark"])
    assert exit_.value.code == 2 and "invalid choice: 'spark'" in capsys.readouterr().err
    with pytest.raises(DataError, match="unknown engine 'spark'; choose from local, dask"):
        forecast(_series(2), 3, model="naive", engine="spark")
    with pytest.raises(DataError, match="only used with engine 'dask'"):
        score_source(model_dir, str(partitioned), tmp_path / "s.csv", scheduler="tcp://127.0.0.1:8786")


def test_the_local_engine_never_imports_dask(tmp_path):
    code = ("import sys; import pandas as pd; from forecasting.cli import build_parser; "
            "from forecasting.revenue import forecast; build_parser().format_help(); "
            "df = pd.DataFrame({'date': pd.date_range('2024-01-01', periods=24, freq='MS'), 'amount': range(24)}); "
            "forecast(df, 3, model='naive'); print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_forecasting_help_imports_neither_pandas_nor_dask():
    # `forecasting --help` stays fast: --engine's choices must not pull in the data layer.
    code = ("import sys; from forecasting.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_model_auto_on_dask_starts_one_cluster_for_backtest_and_forecast(tmp_path, monkeypatch):
    import forecasting.engine as engine

    revenue = tmp_path / "revenue.csv"
    _series(4).to_csv(revenue, index=False)
    opened = []
    real = engine.dask_client

    @contextlib.contextmanager
    def counting(scheduler=None, **kwargs):
        with real(scheduler, **kwargs) as client:
            opened.append(scheduler is None)  # True: a LocalCluster was started here
            yield client

    monkeypatch.setattr(engine, "dask_client", counting)
    args = ["revenue", "forecast", str(revenue), "--horizon", "3", "--model", "auto", "--folds", "2"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "dask"), "--engine", "dask"]) == 0
    assert opened.count(True) == 1  # one LocalCluster; the backtest and the forecast reuse its client
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "dask" / "forecast.csv"),
                                  pd.read_csv(tmp_path / "local" / "forecast.csv"))
