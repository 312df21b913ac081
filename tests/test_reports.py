"""Report runner: parameters checked against the notebook, outputs, failures, schedules."""

from __future__ import annotations

import json
from datetime import date

import nbformat
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


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A throw-away project root with one report notebook."""
    nb = nbformat.v4.new_notebook()
    for tag, source in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "tiny.ipynb")
    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    return tmp_path


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


def test_existing_run_is_not_overwritten_without_force(project, capsys):
    out = str(project / "out")
    assert main(["report", "run", "tiny", "--out", out]) == 0
    assert main(["report", "run", "tiny", "--out", out]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["report", "run", "tiny", "--out", out, "--force"]) == 0


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
    results = run_schedule(project / "reports.yaml", as_of="2026-07-06", force=True)
    assert [r.status for r in results] == ["ok", "failed", "failed"]
    table = (project / "runs" / "2026-07-06" / "tiny" / "tables" / "table.csv").read_text()
    code = main(["report", "run", "--all", "--config", str(project / "reports.yaml"),
                 "--as-of", "2026-07-06", "--force"])
    assert code == 1 and "tiny_missing" in capsys.readouterr().err
    assert "2026Q3" in table  # relative keyword resolved against --as-of
    assert (project / "runs" / "2026-07-06" / "tiny_2" / "tiny.ipynb").exists()  # second run of tiny
