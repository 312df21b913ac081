"""`report run --force` never destroys the previous report before the new one is complete.

The run is written in a temporary folder beside --out and swapped in at the end; a run
interrupted by SIGTERM removes its temporary folder, one killed by SIGKILL leaves it for
the next run to remove, and a failed run (a failing cell, a kernel killed for lack of
memory) leaves the previous report with NAME.failed.ipynb beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_reports import _notebook

from forecasting.cli import main

CELLS = [
    ("parameters", 'n: int = 3  # rows\nsleep: float = 0.0  # seconds to wait after writing the table\n'
                   'die: bool = False  # kill the kernel, as the out-of-memory killer would\n'
                   'out_dir: str = ""  # result tables'),
    (None, "import os, signal, time\nfrom pathlib import Path\nimport pandas as pd\n"
           "Path(out_dir).mkdir(parents=True, exist_ok=True)\n"
           "pd.DataFrame({'i': range(n)}).to_csv(Path(out_dir) / 'table.csv', index=False)"),
    (None, "time.sleep(sleep)\nif die:\n    os.kill(os.getpid(), signal.SIGKILL)"),
    (None, "assert n > 0, 'n must be positive'\nprint(f'rows={n}')"),
]


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A throw-away project root with one slow-on-demand report notebook."""
    _notebook(tmp_path / "notebooks", "slow", CELLS)
    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    return tmp_path


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _temporaries(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp-"))


@pytest.fixture()
def previous(project) -> tuple[Path, dict[str, bytes]]:
    """A complete earlier run (2 rows) in ``project/runs/out``, and its files' bytes."""
    out = project / "runs" / "out"
    assert main(["report", "run", "slow", "-p", "n", "2", "--out", str(out)]) == 0
    return out, _files(out)


@pytest.fixture()
def short_tmp():
    """A short private TMPDIR for the killed run: its kernel's socket folder (a Unix socket path
    must stay under 108 bytes) cannot be removed by a run killed with SIGKILL."""
    folder = tempfile.mkdtemp(prefix="fc-test-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _start_forced_run(project: Path, out: Path, tmp: str) -> subprocess.Popen:
    env = {**os.environ, "FORECASTING_HOME": str(project), "OMP_NUM_THREADS": "1", "TMPDIR": tmp}
    return subprocess.Popen([sys.executable, "-m", "forecasting", "report", "run", "slow", "--force",
                             "-p", "n", "5", "-p", "sleep", "60", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_until_mid_run(process: subprocess.Popen, out: Path, timeout: float = 120) -> None:
    """Until the new run has written its table in the temporary folder (the kernel then sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {process.communicate()}")
        if any(out.parent.glob(f".{out.name}.tmp-*/tables/table.csv")):
            return
        time.sleep(0.05)
    process.kill()
    pytest.fail("the run never reached its table")


def test_sigterm_mid_run_keeps_the_previous_report_and_leaves_no_temporary(project, previous, short_tmp):
    out, before = previous
    process = _start_forced_run(project, out, short_tmp)
    _wait_until_mid_run(process, out)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert _files(out) == before  # the old HTML, run.json and tables, byte for byte
    assert _temporaries(out) == [] and os.listdir(short_tmp) == []  # the kernel's sockets went too


def test_after_sigkill_mid_run_the_previous_report_stands_and_the_next_run_replaces_it(
        project, previous, short_tmp, capsys):
    out, before = previous
    process = _start_forced_run(project, out, short_tmp)
    _wait_until_mid_run(process, out)
    process.kill()
    _, err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, err
    assert _files(out) == before
    assert len(_temporaries(out)) == 1, _temporaries(out)  # nothing can clean up after SIGKILL...
    assert main(["report", "run", "slow", "-p", "n", "4", "--out", str(out), "--force"]) == 0, capsys.readouterr()
    assert _temporaries(out) == []  # ...but the next run of the same report removes it
    assert (out / "tables" / "table.csv").read_text().splitlines()[-1] == "3"  # and its rows are the new ones


def test_a_failed_run_keeps_the_previous_report_and_puts_the_failed_notebook_beside_it(project, previous, capsys):
    out, before = previous
    assert main(["report", "run", "slow", "-p", "n", "0", "--out", str(out), "--force"]) == 1
    err = capsys.readouterr().err
    assert "n must be positive" in err and "slow.failed.ipynb" in err and "previous report" in err
    after = _files(out)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {"slow.failed.ipynb", "run.failed.json"}
    failed = json.loads((out / "run.failed.json").read_text())
    assert failed["status"] == "failed" and failed["parameters"]["n"] == 0
    assert "n must be positive" in (out / "slow.failed.ipynb").read_text()
    # The next good run replaces the folder: the failed files go with the old report.
    assert main(["report", "run", "slow", "-p", "n", "1", "--out", str(out), "--force"]) == 0
    assert sorted(_files(out)) == sorted(before)
    assert json.loads((out / "run.json").read_text())["parameters"]["n"] == 1


def test_a_kernel_killed_mid_run_is_a_failed_run_that_keeps_the_previous_report(project, previous):
    out, before = previous
    assert main(["report", "run", "slow", "-p", "die", "true", "--out", str(out), "--force"]) == 1
    assert "kernel died" in json.loads((out / "run.failed.json").read_text())["error"]
    assert {k: v for k, v in _files(out).items() if k in before} == before
    assert _temporaries(out) == []
