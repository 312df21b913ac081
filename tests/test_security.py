"""Security: SQL text in names, unsafe model folders, path tricks in report names, and
outputs outside ``--out`` are refused with exit code 2 (or never happen).

test_data_layer.py covers ``quote_identifier`` itself, test_leads_store.py the model store
API and test_reports.py ``../`` report names; these tests go through every command.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import warnings
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_leads_models import simulate_leads
from test_pipeline_forecast import hand_crm
from threadpoolctl import threadpool_limits

from forecasting.cli import main
from forecasting.data import DataError, load_table

REVENUE = pd.DataFrame({"date": pd.date_range("2023-01-01", periods=30, freq="MS").strftime("%Y-%m-%d"),
                        "amount": [100.0 + i for i in range(30)]})


def tables() -> dict[str, pd.DataFrame]:
    leads, _ = simulate_leads(300, seed=5)
    opps, history = hand_crm()
    return {"leads": leads, "opportunities": opps, "stage_history": history, "revenue": REVENUE}


def save_tiny_model(path: Path) -> Path:
    """A logistic lead scorer trained on 300 simulated leads (a couple of seconds)."""
    from forecasting.leads import train_model

    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_model(tables()["leads"], "logistic", n_boot=20, calibration="none").save(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture()
def crm(tmp_path) -> Path:
    """A DuckDB file with the canonical tables (fresh per test: some tests try to damage it)."""
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        for name, frame in tables().items():
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    return path


def _row_counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}


def _commands(source: str, out: Path) -> dict[str, list[str]]:
    """Every command reading one SOURCE, writing to ``out``."""
    return {
        "data check": ["data", "check", "leads", source],
        "kpis": ["kpis", "--opportunities", source, "--out", str(out)],
        "pipeline forecast": ["pipeline", "forecast", "--opportunities", source, "--as-of", "2025-03-31",
                              "--period", "2025Q2", "--method", "default", "--sims", "100", "--out", str(out)],
        "revenue forecast": ["revenue", "forecast", source, "--horizon", "3", "--model", "naive",
                             "--out", str(out)],
    }


def _refused(code: int, capsys, *pieces: str) -> str:
    captured = capsys.readouterr()
    err = captured.err + captured.out  # `data check` reports on stdout
    assert code == 2, err
    assert "Traceback" not in err
    for piece in pieces:
        assert piece in err, err
    return err


# --------------------------------------------------------------------------- SQL text in names


@pytest.mark.parametrize("name", ["leads; DROP TABLE leads", 'leads" WHERE 1=1 --', "x UNION SELECT 1"])
@pytest.mark.parametrize("command", ["data check", "kpis", "pipeline forecast", "revenue forecast", "leads score"])
def test_sql_text_in_a_table_name_is_refused_by_every_command(crm, tiny_model, tmp_path, capsys, command, name):
    before = _row_counts(crm)
    source, out = f"{crm}:{name}", tmp_path / "out"
    argv = _commands(source, out).get(command) or [
        "leads", "score", source, "--model", str(tiny_model), "--out", str(out / "scores.csv")]
    _refused(main(argv), capsys, "is not a plain identifier")
    assert _row_counts(crm) == before
    assert not out.exists()


def test_a_query_cannot_change_the_database(crm, capsys):
    before = _row_counts(crm)
    with pytest.raises(DataError, match="read-only"):
        load_table("leads", f"{crm}:SELECT * FROM leads; DROP TABLE leads")
    _refused(main(["data", "check", "leads", f"{crm}:SELECT 1 AS lead_id; DELETE FROM leads"]), capsys,
             "read-only")
    assert _row_counts(crm) == before


SQL_MAPPINGS = [('lead_id"; DROP TABLE leads; --', "lead_id"), ("lead_id", 'lead_id" FROM leads; --'),
                ("web_visits; DELETE FROM leads", "visits"), ("source/*", "channel"), ("budget\x00", "b")]


@pytest.mark.parametrize(("old", "new"), SQL_MAPPINGS)
def test_sql_text_in_a_column_mapping_is_refused(crm, tiny_model, tmp_path, capsys, old, new):
    before = _row_counts(crm)
    with pytest.raises(DataError, match="column mapping .* is refused") as caught:
        load_table("leads", tables()["leads"], {old: new})
    assert caught.value.table == "leads" and caught.value.column == old
    _refused(main(["data", "check", "leads", str(crm), "--map", f"{old}={new}"]), capsys, "is refused")
    out = tmp_path / "scored" / "scores.csv"
    _refused(main(["leads", "score", str(crm), "--model", str(tiny_model), "--out", str(out),
                   "--map", f"{old}={new}"]), capsys, "is refused")
    assert not out.parent.exists() or not any(out.parent.iterdir())
    assert _row_counts(crm) == before


def test_ordinary_column_names_with_spaces_and_apostrophes_still_map():
    raw = tables()["leads"].rename(columns={"lead_id": "Lead Id", "created_at": "Owner's created-at (UTC)"})
    loaded = load_table("leads", raw, {"Lead Id": "lead_id", "Owner's created-at (UTC)": "created_at"})
    assert loaded["lead_id"].tolist() == tables()["leads"]["lead_id"].tolist()


# --------------------------------------------------------------------------- model folders


class _Touch:
    """Unpickling this creates ``path``: proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def _copy_model(model: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    return folder


def _score(model: Path, tmp_path: Path) -> tuple[int, Path]:
    source = tmp_path / "leads.csv"
    tables()["leads"].drop(columns=["converted"]).head(50).to_csv(source, index=False)
    out = tmp_path / "scored" / "scores.csv"
    return main(["leads", "score", str(source), "--model", str(model), "--out", str(out)]), out


@pytest.mark.parametrize("name", ["model.pkl", "estimator.joblib", "OLD.PICKLE", "x.dill"])
def test_leads_score_refuses_a_model_folder_holding_a_pickle(tiny_model, tmp_path, capsys, name):
    folder, marker = _copy_model(tiny_model, tmp_path), tmp_path / "pickle_was_loaded"
    (folder / name).write_bytes(pickle.dumps(_Touch(marker)))
    code, out = _score(folder, tmp_path)
    _refused(code, capsys, "model: ", "refusing a folder holding pickle files", name)
    assert not marker.exists() and not out.parent.exists()


def test_leads_score_refuses_a_pickle_named_model_skops(tiny_model, tmp_path, capsys):
    folder, marker = _copy_model(tiny_model, tmp_path), tmp_path / "pickle_was_loaded"
    (folder / "model.skops").write_bytes(pickle.dumps(_Touch(marker)))
    code, out = _score(folder, tmp_path)
    _refused(code, capsys, "model.skops is not a readable skops file")
    assert not marker.exists() and not out.parent.exists()


def test_leads_score_refuses_untrusted_types_even_when_the_card_lists_them(tiny_model, tmp_path, capsys):
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    folder = _copy_model(tiny_model, tmp_path)
    sio.dump(FunctionTransformer(func=os.system), folder / "model.skops")
    card = json.loads((folder / "card.json").read_text())
    card["trusted_types"] = sorted({*card.get("trusted_types", []), "posix.system"})  # a tampered card
    (folder / "card.json").write_text(json.dumps(card))
    code, out = _score(folder, tmp_path)
    _refused(code, capsys, "refusing to load untrusted types", "system")
    assert not out.parent.exists()


def test_leads_score_refuses_a_card_pointing_outside_its_folder(tiny_model, tmp_path, capsys):
    folder = _copy_model(tiny_model, tmp_path)
    shutil.copy(folder / "model.skops", tmp_path / "elsewhere.skops")
    (folder / "model.skops").unlink()
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "artifact": "../elsewhere.skops"}))
    code, out = _score(folder, tmp_path)
    _refused(code, capsys, "is missing")
    assert not out.parent.exists()


# --------------------------------------------------------------------------- report names


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    """A project root with one report notebook, ``tiny``, and a secret beside it."""
    import nbformat
    from test_reports import CELLS

    nb = nbformat.v4.new_notebook()
    for tag, source in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = [tag] if tag else []
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "tiny.ipynb")
    nbformat.write(nb, tmp_path / "secret.ipynb")  # outside notebooks/: never runnable
    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", ["../secret", "..", "/etc/passwd", "{root}/secret", "{root}/notebooks/tiny",
                                  "notebooks/../tiny", "..\\secret", "tiny\x00", "tiny.ipynb", "~/tiny", " tiny"])
def test_report_names_that_are_paths_are_refused(project, capsys, name):
    name = name.format(root=project)
    _refused(main(["report", "run", name]), capsys, "report.name: ", "available: tiny")
    assert sorted(p.name for p in project.iterdir()) == ["notebooks", "secret.ipynb"]  # no reports/ folder


# --------------------------------------------------------------------------- outputs stay in --out


def _tree(root: Path) -> dict[str, str]:
    """Every file and link under ``root`` with a hash of what it holds (or points to)."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            state[key] = "-> " + os.readlink(path)
        elif path.is_file():
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[key] = "dir"
    return state


OUTPUTS = {"kpis": {"kpis.csv", "funnel.csv", "run.json"},
           "pipeline forecast": {"forecast.csv", "deals.csv", "health.csv", "run.json"},
           "revenue forecast": {"forecast.csv", "outliers.csv", "fan_chart.png", "run.json"}}


def _inputs(folder: Path) -> dict[str, str]:
    folder.mkdir()
    paths = {}
    for name, frame in tables().items():
        paths[name] = str(folder / f"{name}.csv")
        frame.to_csv(paths[name], index=False)
    return paths


@pytest.mark.parametrize("command", [*OUTPUTS, "leads score"])
def test_commands_write_only_inside_out(tmp_path, tiny_model, monkeypatch, capsys, command):
    inputs = _inputs(tmp_path / "in")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a stray relative write would land here
    out = work / "out"
    before, model = _tree(tmp_path), _tree(tiny_model)
    source = inputs["revenue" if command == "revenue forecast" else "opportunities"]
    argv = _commands(source, out).get(command) or [
        "leads", "score", inputs["leads"], "--model", str(tiny_model), "--out", str(out / "scores.csv")]
    assert main(argv) == 0, capsys.readouterr().err
    after = _tree(tmp_path)
    changed = {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)}
    assert changed == {"work/out"} | {f"work/out/{name}" for name in _expected(command)}
    assert _tree(tiny_model) == model  # the model folder is only read


def _expected(command: str) -> set[str]:
    return OUTPUTS.get(command, {"scores.csv", "scores.drift.csv", "scores.run.json"})


def test_a_symlink_inside_out_is_replaced_not_followed(tmp_path, capsys):
    inputs = _inputs(tmp_path / "in")
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    for name in ("kpis.csv", "run.json"):
        (outside / name).write_text("precious\n")
        (out / name).symlink_to(outside / name)
    assert main(["kpis", "--opportunities", inputs["opportunities"], "--out", str(out)]) == 0
    assert [(outside / n).read_text() for n in ("kpis.csv", "run.json")] == ["precious\n"] * 2
    assert not (out / "kpis.csv").is_symlink() and "period" in (out / "kpis.csv").read_text()
    assert json.loads((out / "run.json").read_text())["status"] == "ok"


def test_a_refused_run_leaves_the_previous_outputs_as_they_were(tmp_path, capsys):
    inputs = _inputs(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["kpis", "--opportunities", inputs["opportunities"], "--out", str(out)]) == 0
    before = _tree(out)
    bad = tmp_path / "bad.csv"
    tables()["opportunities"].assign(amount="lots").to_csv(bad, index=False)
    _refused(main(["kpis", "--opportunities", str(bad), "--out", str(out)]), capsys, "opportunities.amount")
    assert _tree(out) == before


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_out_pointing_at_an_existing_file_is_a_clear_error(tmp_path, capsys, command):
    inputs = _inputs(tmp_path / "in")
    out = tmp_path / "taken.txt"
    out.write_text("keep me\n")
    source = inputs["revenue" if command == "revenue forecast" else "opportunities"]
    _refused(main(_commands(source, out)[command]), capsys, "--out", "is a file")
    assert out.read_text() == "keep me\n"


def test_report_out_pointing_at_an_existing_file_is_a_clear_error(project, capsys):
    out = project / "taken.txt"
    out.write_text("keep me\n")
    _refused(main(["report", "run", "tiny", "--out", str(out)]), capsys, "is a file")
    assert out.read_text() == "keep me\n"


def test_a_schedule_id_cannot_put_a_report_outside_out(project, capsys):
    (project / "reports.yaml").write_text("reports:\n  - name: tiny\n    id: ../escaped\n")
    main(["report", "run", "--all", "--config", str(project / "reports.yaml"), "--out", str(project / "out")])
    assert not (project / "escaped").exists()
    assert "escaped" in capsys.readouterr().err  # the failed entry is named


# --------------------------------------------------------------------------- query SOURCEs only read


def _query_commands(source: str, model: Path, out: Path) -> dict[str, list[str]]:
    return {"data check": ["data", "check", "leads", source],
            "leads score": ["leads", "score", source, "--model", str(model), "--out", str(out / "scores.csv")]}


@pytest.mark.parametrize("command", ["data check", "leads score"])
def test_a_duckdb_query_cannot_write_a_file(crm, tiny_model, tmp_path, capsys, command):
    # Before: the read-only database still ran `COPY ... TO` and wrote any file the user could.
    target = tmp_path / "pwned.csv"
    source = f"{crm}:SELECT * FROM leads; COPY (SELECT 42 AS pwned) TO '{target}'"
    _refused(main(_query_commands(source, tiny_model, tmp_path / "out")[command]), capsys, "leads")
    assert not target.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["data check", "leads score"])
def test_a_duckdb_query_cannot_read_other_files(crm, tiny_model, tmp_path, capsys, command):
    secret = tmp_path / "secret.csv"
    secret.write_text("lead_id,created_at,password\nL1,2025-01-01,hunter2\n")
    source = f"{crm}:SELECT * FROM read_csv('{secret}')"
    err = _refused(main(_query_commands(source, tiny_model, tmp_path / "out")[command]), capsys,
                   "file system operations are disabled")
    assert "hunter2" not in err and not (tmp_path / "out").exists()


def test_a_query_of_several_statements_is_refused_before_the_database_is_opened(tmp_path):
    missing = tmp_path / "absent.duckdb"
    missing.write_bytes(b"")  # not a database: only the statement rule can answer
    with pytest.raises(DataError, match="leads: SQL sources are read-only: .* one SELECT statement, found 2"):
        load_table("leads", f"{missing}:SELECT 'a;b' AS lead_id; DROP TABLE leads -- ;")
