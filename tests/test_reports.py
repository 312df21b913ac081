"""Report runner: parameters checked against the notebook, outputs, failures, schedules."""

from __future__ import annotations

import json
from datetime import date

import nbformat
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.reports import ReportError, coerce_parameters, resolve_relative, run_report, run_schedule

CELLS = [
    ("parameters", 'n: int = 3  # how many rows\nlabel: str = "x"  # a name\nout_dir: str = ""  # result tables'),
    (None, "import pandas as pd\nfrom pathlib import Path\n"
           "table = pd.DataFrame({'i': range(n), 'label': label})"),
    (None, "if out_dir:\n    Path(out_dir).mkdir(parents=True, exist_ok=True)\n"
           "    table.to_csv(Path(out_dir) / 'table.csv', index=False)"),
    (None, "assert n > 0, 'n must be positive'\nprint(f'rows={len(table)} SECRET_CODE_MARKER')"),
]


# A report that reads data: the parameters every report takes, and a default resolved "from the data".
READER = [
    ("parameters", 'source: str = "demo"  # SOURCE\nstages: str = ""  # stages YAML\nmap: str = ""  # renames\n'
                   'date_format: str = ""  # dates\nas_of: str = ""  # snapshot; empty means the last date in the data\n'
                   'n_sims: int = 2000  # simulations\nout_dir: str = ""  # result tables'),
    (None, "import pandas as pd\nfrom pathlib import Path\nfrom forecasting.reports.context import record_resolved\n"
           "as_of = as_of or '2026-06-30'  # stands for the last date in the data\n"
           "Path(out_dir).mkdir(parents=True, exist_ok=True)\n"
           "given = {'source': source, 'stages': stages, 'map': map, 'date_format': date_format}\n"
           "pd.DataFrame({'key': list(given), 'value': list(given.values())}).to_csv(Path(out_dir) / 'given.csv', "
           "index=False)\nrecord_resolved(out_dir, {'as_of': as_of, 'n_sims': n_sims})"),
]


def _notebook(folder, name, cells) -> None:
    nb = nbformat.v4.new_notebook()
    for tag, source in cells:
        cell = nbformat.v4.new_code_cell(source)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A throw-away project root with one report notebook."""
    _notebook(tmp_path / "notebooks", "tiny", CELLS)
    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture()
def readers(project, monkeypatch):
    """The project with a second report, ``reader``, that takes a source; the working directory is the project."""
    _notebook(project / "notebooks", "reader", READER)
    monkeypatch.chdir(project)
    return project


def test_parameters_are_checked_and_converted(project):
    assert coerce_parameters("tiny", {"n": "5", "label": "y"}) == {"n": 5, "label": "y"}
    with pytest.raises(ReportError, match=r"report.m: is not a parameter of tiny; valid: n \(int\)"):
        coerce_parameters("tiny", {"m": "5"})
    with pytest.raises(ReportError, match="report.n: invalid literal"):
        coerce_parameters("tiny", {"n": "five"})


def test_run_writes_notebook_html_without_code_and_run_json(project):
    result = run_report("tiny", {"n": "4"}, project / "out")
    assert result.ok
    html = result.html.read_text()
    assert "rows=4" in html and "table.to_csv" not in html  # outputs shown, code hidden
    assert 'src="http' not in html  # self-contained: no script or image fetched from the web
    record = json.loads((project / "out" / "run.json").read_text())
    assert record["status"] == "ok" and record["parameters"]["n"] == 4
    assert set(record["tables"]) == {"table.csv"} and record["versions"]["pandas"]
    assert "papermill" in result.notebook.read_text()  # an executed run keeps papermill's record


def test_failing_cell_keeps_notebook_marks_failed_and_writes_no_html(project, capsys):
    code = main(["report", "run", "tiny", "-p", "n", "0", "--out", str(project / "bad")])
    assert code == 1
    record = json.loads((project / "bad" / "run.json").read_text())
    assert record["status"] == "failed" and "n must be positive" in record["error"]
    assert (project / "bad" / "tiny.ipynb").exists() and not (project / "bad" / "tiny.html").exists()


def test_a_run_with_other_parameters_needs_force_the_same_run_replaces(project, capsys):
    out = str(project / "out")
    assert main(["report", "run", "tiny", "-p", "n", "2", "--out", out]) == 0
    assert main(["report", "run", "tiny", "-p", "n", "5", "--out", out]) == 2
    assert "n: 2 -> 5); pass --force" in capsys.readouterr().err
    assert main(["report", "run", "tiny", "-p", "n", "2", "--out", out]) == 0  # a re-run: replaced
    assert main(["report", "run", "tiny", "-p", "n", "5", "--out", out, "--force"]) == 0
    assert json.loads((project / "out" / "run.json").read_text())["parameters"]["n"] == 5


def test_a_folder_holding_other_files_is_refused_and_left_alone(project, capsys):
    (project / "mine").mkdir()
    (project / "mine" / "notes.txt").write_text("keep me")
    assert main(["report", "run", "tiny", "--out", str(project / "mine"), "--force"]) == 2
    assert "holds files that no report run wrote (notes.txt)" in capsys.readouterr().err
    assert sorted(p.name for p in (project / "mine").iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("name", ["../tiny", "tiny/../../etc", "nope"])
def test_unknown_or_path_like_report_names_are_refused(project, name, capsys):
    assert main(["report", "run", name]) == 2
    assert "available: tiny" in capsys.readouterr().err


def test_bad_parameter_from_cli_exits_2_listing_valid_ones(project, capsys):
    assert main(["report", "run", "tiny", "-p", "rows", "3"]) == 2
    assert "valid: n (int), label (str), out_dir (str)" in capsys.readouterr().err


def test_relative_dates_resolve_against_as_of():
    day = date(2026, 11, 23)
    assert resolve_relative("today", day) == "2026-11-23"
    assert resolve_relative("start_of_quarter", day) == "2026-10-01"
    assert resolve_relative("end_of_last_month", day) == "2026-10-31"
    assert resolve_relative("end_of_last_quarter", day) == "2026-09-30"
    assert resolve_relative("next_quarter", day) == "2027Q1"
    assert resolve_relative("2025-01-01", day) == "2025-01-01"


def test_schedule_goes_on_after_a_failure_and_reports_it(project, capsys):
    (project / "reports.yaml").write_text(
        "out: " + str(project / "runs" / "{as_of}") + "\n"
        "reports:\n"
        "  - name: tiny\n    parameters: {label: this_quarter}\n"
        "  - name: tiny_missing\n"
        "  - name: tiny\n    parameters: {n: 0}\n"
    )
    code = main(["report", "run", "--all", "--config", str(project / "reports.yaml"), "--as-of", "2026-07-06"])
    err = capsys.readouterr().err
    assert code == 1
    assert [line.split()[:3] for line in err.splitlines() if line.startswith("tiny")] == [
        ["tiny", "tiny", "ok"], ["tiny_missing", "tiny_missing", "failed"], ["tiny_2", "tiny", "failed"]]
    assert "no report named 'tiny_missing'" in err and "n must be positive" in err
    table = (project / "runs" / "2026-07-06" / "tiny" / "tables" / "table.csv").read_text()
    assert "2026Q3" in table  # relative keyword resolved against --as-of
    assert (project / "runs" / "2026-07-06" / "tiny_2" / "tiny.ipynb").exists()  # second run of tiny


def test_shorthand_options_become_parameters_and_run_json_holds_every_resolved_value(readers):
    code = main(["report", "run", "reader", "--source", "crm.duckdb:deals", "--stages", "stages.yaml",
                 "--map", "Deal Id=opportunity_id", "--map", "Amt=amount", "--date-format", "%d/%m/%Y",
                 "--out", "out"])
    assert code == 0
    given = dict(pd.read_csv(readers / "out" / "tables" / "given.csv", keep_default_na=False).values)
    # Paths are the caller's: made absolute, as the kernel runs in the output folder.
    assert given == {"source": f"{readers / 'crm.duckdb'}:deals", "stages": str(readers / "stages.yaml"),
                     "map": "Deal Id=opportunity_id,Amt=amount", "date_format": "%d/%m/%Y"}
    record = json.loads((readers / "out" / "run.json").read_text())
    assert record["parameters"]["source"] == given["source"] and "as_of" not in record["parameters"]
    # Defaults included: as_of resolved by the notebook, n_sims the notebook's own default.
    assert record["resolved"] == {**given, "as_of": "2026-06-30", "n_sims": 2000,
                                  "out_dir": str(readers / "out" / "tables")}
    assert set(record["tables"]) == {"given.csv"}  # resolved.json is not a result table


@pytest.mark.parametrize("args, message", [
    (["-p", "source", "a.csv", "--source", "b.csv"], "report.source: given twice (-p source and --source)"),
    (["--map", "Deal,Id=opportunity_id"], "report.map: a column name with a comma cannot be mapped"),
    (["-p", "nope", "1"], "report.nope: is not a parameter of reader"),
])
def test_conflicting_or_bad_shorthands_exit_2(readers, args, message, capsys):
    assert main(["report", "run", "reader", *args, "--out", "out"]) == 2
    assert message in capsys.readouterr().err and not (readers / "out").exists()


SCHEDULE_HEAD = "reports:\n  - name: tiny\n"


@pytest.mark.parametrize("text, message", [
    (SCHEDULE_HEAD + "    parameters: [n, 3]\n", "schedule.reports[1].parameters: expected a mapping KEY: VALUE"),
    ("reports: [name: tiny\n", "is not valid YAML at line 2"),
    ("out: runs/{week}\n" + SCHEDULE_HEAD, "schedule.out: unknown placeholder {week} in 'runs/{week}'; use {as_of}"),
    ("out: runs/{as_of\n" + SCHEDULE_HEAD, "schedule.out: 'runs/{as_of': expected '}'"),
    ("parameters: {n: 3}\n" + SCHEDULE_HEAD, "schedule.parameters: unknown key; allowed: out, defaults, reports; "
                                            "put parameters shared by every report under defaults"),
    (SCHEDULE_HEAD + "    params: {n: 3}\n", "schedule.reports[1].params: unknown key; allowed: name, id, parameters"),
    ("defaults: {rows: 3}\n" + SCHEDULE_HEAD, "schedule.defaults.rows: is not a parameter of any report here; "
                                             "parameters: label, n, out_dir"),
    ("- name: tiny\n", "schedule: expected a mapping with a 'reports' list"),
    ("reports:\n  - name: reader\n", "schedule.reports[1]: reader has no source: add source:"),
])
def test_a_malformed_schedule_exits_2_naming_the_problem_before_running_anything(readers, text, message, capsys):
    (readers / "reports.yaml").write_text(text)
    assert main(["report", "run", "--all", "--config", "reports.yaml", "--out", "runs/{id}"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (readers / "runs").exists()


def test_schedule_defaults_dated_folders_rerun_and_summary_by_id(readers, capsys):
    (readers / "reports.yaml").write_text(
        "out: runs/{date}/{id}\n"
        "defaults: {source: crm.duckdb, as_of: end_of_last_month, n: 2}  # each to the reports that take it\n"
        "reports:\n"
        "  - name: reader\n    id: weekly_pipeline\n    parameters: {n_sims: 500}\n"
        "  - name: tiny\n    parameters: {label: 2026-06-30}\n"
    )
    for _ in range(2):  # the same week again replaces the reports, no --force needed
        assert main(["report", "run", "--all", "--config", "reports.yaml", "--as-of", "2026-07-06"]) == 0
        err = capsys.readouterr().err
        assert [line.split()[:3] for line in err.splitlines()[1:]] == [["weekly_pipeline", "reader", "ok"],
                                                                        ["tiny", "tiny", "ok"]]
        assert "IPKernelApp" not in err and "without encryption" not in err  # no kernel noise
    record = json.loads((readers / "runs" / "2026-07-06" / "weekly_pipeline" / "run.json").read_text())
    assert record["resolved"]["as_of"] == "2026-06-30" and record["resolved"]["n_sims"] == 500
    assert record["resolved"]["source"] == str(readers / "crm.duckdb")
    table = pd.read_csv(readers / "runs" / "2026-07-06" / "tiny" / "tables" / "table.csv")
    assert len(table) == 2 and set(table["label"]) == {"2026-06-30"}  # a YAML date stays the date written


def test_run_schedule_checks_a_parsed_config_too(project):
    with pytest.raises(ReportError, match=r"schedule.reports\[1\].parameters: expected a mapping"):
        run_schedule({"reports": [{"name": "tiny", "parameters": ["n", 3]}]})
    with pytest.raises(ReportError, match="schedule.as_of: 'monday' is not a date"):
        run_schedule({"reports": [{"name": "tiny"}]}, as_of="monday")


def test_a_database_password_never_reaches_run_json_the_notebook_or_the_html(readers):
    result = run_report("reader", {"source": "postgresql://bob:s3cret@db.example/crm#deals"}, readers / "out")
    assert result.ok, result.error
    record = json.loads(result.run_json.read_text())
    assert not [p.name for p in (readers / "out").iterdir() if p.is_file() and "s3cret" in p.read_text()]
    assert record["parameters"]["source"] == record["resolved"]["source"] == "postgresql://bob:***@db.example/crm#deals"


def test_a_schedule_takes_its_source_from_the_config_not_from_options(project, capsys):
    assert main(["report", "run", "--all", "--source", "crm.duckdb"]) == 2
    assert "put them under defaults" in capsys.readouterr().err


# ---------------------------------------------------------------- a comparison saved by the CLI, read back

COMPARE = dict(target="converted", models="logistic", folds=3, n_boot=20, seed=1, exclude="", min_age_days=10.0)


@pytest.fixture(scope="module")
def saved_comparison(leads, tmp_path_factory):
    """600 simulated leads as a CSV, and the folder `leads compare` wrote for them."""
    from leads_fixtures import one_quiet_thread

    tmp = tmp_path_factory.mktemp("saved_comparison")
    source = tmp / "leads.csv"
    leads.to_csv(source, index=False)
    with one_quiet_thread():
        assert main(["leads", "compare", str(source), "--out", str(tmp / "leads"), "--models", "logistic",
                     "--folds", "3", "--n-boot", "20", "--seed", "1", "--min-age-days", "10"]) == 0
    return source, tmp / "leads"


def test_a_saved_comparison_reads_back_as_the_comparison_itself(saved_comparison):
    from forecasting.data import load_table
    from forecasting.leads import compare_models
    from forecasting.reports.saved import load_comparison
    from leads_fixtures import one_quiet_thread

    source, folder = saved_comparison
    loaded = load_comparison(folder, source=str(source), **COMPARE)
    settings = {**COMPARE, "models": ["logistic"]}
    with one_quiet_thread():
        made = compare_models(load_table("leads", str(source)), settings.pop("target"), **settings)
    timings = [c for c in made.leaderboard if c.endswith("_seconds")]  # of the run, not results
    pd.testing.assert_frame_equal(loaded.leaderboard.drop(columns=timings), made.leaderboard.drop(columns=timings),
                                  check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(loaded.oof, made.oof, check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(loaded.fold_metrics, made.fold_metrics, check_dtype=False)
    pd.testing.assert_frame_equal(loaded.features.report(), made.features.report(), check_dtype=False)
    assert (loaded.best, loaded.calibration, loaded.skipped) == (made.best, made.calibration, made.skipped)
    assert loaded.scores()["score"].tolist() == made.scores()["score"].tolist()


@pytest.mark.parametrize("change", [{"seed": 2}, {"folds": 4}, {"min_age_days": 45.0}, {"models": ""},
                                    {"exclude": "web_visits"}, {"map": "Lead=lead_id"}, {"source": "other.csv"}])
def test_a_saved_comparison_made_with_other_settings_is_refused(saved_comparison, change):
    from forecasting.data import DataError
    from forecasting.reports.saved import load_comparison

    source, folder = saved_comparison
    settings = {**COMPARE, "source": str(source), **change}
    key = {"map": "mapping"}.get(next(iter(change)), next(iter(change)))
    with pytest.raises(DataError, match=rf"comparison\.{key}: the saved comparison used .* pass the same value"):
        load_comparison(folder, **settings)


def test_a_folder_without_a_comparison_is_refused(tmp_path):
    from forecasting.data import DataError
    from forecasting.reports.saved import load_comparison

    with pytest.raises(DataError, match=r"comparison: .* lacks leaderboard.csv, oof.csv.*leads compare"):
        load_comparison(tmp_path, source="x.csv", **COMPARE)


# ---------------------------------------------------------------- where the report notebooks are found

def test_reports_come_from_the_checkout_when_forecasting_home_has_no_notebooks(tmp_path, monkeypatch):
    from pathlib import Path

    from forecasting.reports import available_reports, notebooks_dir

    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    checkout = Path(__file__).resolve().parents[1]
    assert notebooks_dir() == checkout / "notebooks"
    assert available_reports() == sorted(p.stem for p in (checkout / "notebooks").glob("*.ipynb"))


def test_an_install_reads_the_notebooks_shipped_in_the_package(tmp_path, monkeypatch):
    from pathlib import Path

    import forecasting
    import forecasting.reports.runner as runner

    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    monkeypatch.setattr(runner, "checkout_root", lambda: None)
    assert runner.notebooks_dir() == Path(forecasting.__file__).parent / "notebooks"
