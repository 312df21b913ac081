"""Outputs on real machines: named so no file replaces another, created with the user's umask,
never half-written, and cleaned up after SIGTERM (and after SIGKILL, by the next run).

``leads score`` is the command under test (the longest writer); the mechanism is
``forecasting.data.files.atomic_path`` / ``atomic_dir``, which every command uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.data import files
from forecasting.data.files import atomic_dir, atomic_path, write_csv, write_text

pytestmark = pytest.mark.usefixtures("quiet_one_thread")


def _score(leads_csv: Path, model_dir: Path, out: Path, *extra: str) -> int:
    return main(["leads", "score", str(leads_csv), "--model", str(model_dir), "--out", str(out), *extra])


@pytest.fixture(scope="module")
def leads_csv(leads, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("in") / "leads.csv"
    leads.drop(columns=["converted"]).to_csv(path, index=False)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["drift.csv", "scores.drift.csv"])
def test_scores_named_like_the_drift_table_are_not_replaced_by_it(leads_csv, model_dir, tmp_path, name):
    # Before: --out DIR/drift.csv wrote the scores, then the drift table over them; exit 0.
    out = tmp_path / "out" / name
    assert _score(leads_csv, model_dir, out) == 0
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["lead_id", "score", "grade", "reasons"] and len(scores) == 600
    drift = pd.read_csv(out.with_name(out.stem + ".drift.csv"))
    assert "(score)" in set(drift["feature"]) and "psi" in drift.columns
    record = json.loads(out.with_name(out.stem + ".run.json").read_text())
    assert record["outputs"]["scores"] == str(out) and record["outputs"]["drift"] != str(out)


@pytest.mark.parametrize("name", ["run.json", "scores.json", "scores.tsv", "scores.txt"])
def test_an_out_that_is_neither_csv_nor_parquet_is_refused_before_anything_is_written(
        leads_csv, model_dir, tmp_path, capsys, name):
    out = tmp_path / "out" / name
    assert _score(leads_csv, model_dir, out) == 2
    err = capsys.readouterr().err
    assert f"out: --out {out}" in err and ".csv or .parquet" in err
    assert not out.parent.exists()


def test_leads_score_leaves_the_other_files_of_its_folder_alone(leads_csv, model_dir, tmp_path):
    # Before: --out dir/file.csv wrote dir/run.json and dir/drift.csv, replacing those of
    # another command (kpis) or of another scoring run in the same folder.
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text('{"command": "kpis"}\n')
    (out / "drift.csv").write_text("someone else's\n")
    assert _score(leads_csv, model_dir, out / "a.csv") == 0
    assert _score(leads_csv, model_dir, out / "b.parquet", "--no-reasons") == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "a.csv", "a.drift.csv", "a.run.json", "b.drift.csv", "b.parquet", "b.run.json", "drift.csv", "run.json"]
    assert (out / "run.json").read_text() == '{"command": "kpis"}\n'
    assert (out / "drift.csv").read_text() == "someone else's\n"
    assert json.loads((out / "a.run.json").read_text())["outputs"]["drift"] == str(out / "a.drift.csv")


def test_a_folder_of_parts_gets_its_drift_table_and_run_json_beside_it(leads_csv, model_dir, tmp_path):
    out = tmp_path / "out" / "scores"
    assert _score(leads_csv, model_dir, out, "--chunksize", "250") == 0
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert len(pd.read_parquet(out)) == 600
    assert sorted(p.name for p in out.parent.iterdir()) == ["scores", "scores.drift.csv", "scores.run.json"]


def test_leads_score_help_says_where_the_drift_table_and_run_json_go(capsys):
    with pytest.raises(SystemExit):
        main(["leads", "score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "out/scores.drift.csv" in text and "out/scores.run.json" in text


# --------------------------------------------------------------------------- data check


def test_data_check_prints_its_report_on_stdout_and_keeps_exit_codes(leads, tmp_path, capsys):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    leads.to_csv(good, index=False)
    leads.assign(created_at="someday").to_csv(bad, index=False)
    assert main(["data", "check", "leads", str(good)]) == 0
    captured = capsys.readouterr()
    assert "rows: 600" in captured.out and "OK: no errors" in captured.out and captured.err == ""
    assert main(["data", "check", "leads", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "ERROR leads.created_at" in captured.out and "FAILED: 1 error(s)" in captured.out
    assert "created_at" not in captured.err


# --------------------------------------------------------------------------- umask


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def test_outputs_are_created_with_the_users_umask(umask, leads_csv, model_dir, tmp_path):
    # Before: mkstemp / mkdtemp modes leaked out: every output was 0600, every folder 0700.
    file_mode, dir_mode = 0o666 & ~umask, 0o777 & ~umask
    write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    write_text(tmp_path / "t.txt", "x")
    with atomic_dir(tmp_path / "folder") as tmp:
        (tmp / "inside.txt").write_text("x")
    assert _score(leads_csv, model_dir, tmp_path / "scores.csv") == 0
    assert _score(leads_csv, model_dir, tmp_path / "parts", "--no-reasons") == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"t.csv": file_mode, "t.txt": file_mode, "folder": dir_mode, "scores.csv": file_mode,
                     "scores.drift.csv": file_mode, "scores.run.json": file_mode, "parts": dir_mode,
                     "parts.drift.csv": file_mode, "parts.run.json": file_mode}
    assert (tmp_path / "parts" / "part-00000.parquet").stat().st_mode & 0o777 == file_mode


# --------------------------------------------------------------------------- leftovers


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_run_removes_only_its_own_leftovers_of_killed_runs(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    leftovers = {  # name -> removed by writing scores.csv and the folder parts/
        f".scores.tmp-{dead}-k3x_9abc.csv": True,   # a killed writer of scores.csv
        f".parts.tmp-{dead}-abcdefgh": True,         # a killed writer of the folder parts/
        f".parts.tmp-{dead}-abcdefgh-old": True,     # killed while swapping parts/ in
        f".scores.tmp-{alive}-abcdefgh.csv": False,  # a run still writing scores.csv
        f".scores.tmp-{dead}-abcdefgh.parquet": False,  # another target: scores.parquet
        f".other.tmp-{dead}-abcdefgh.csv": False,
        "scores.csv.bak": False,
    }
    for name in leftovers:
        if name.startswith(".parts"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "part-00000.parquet").write_text("half")
        else:
            (tmp_path / name).write_text("half")
    write_csv(pd.DataFrame({"a": [1]}), tmp_path / "scores.csv")
    with atomic_dir(tmp_path / "parts"):
        pass
    kept = {name for name, removed in leftovers.items() if not removed}
    assert {p.name for p in tmp_path.iterdir()} == kept | {"scores.csv", "parts"}


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = write_text(tmp_path / "report.txt", "previous")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "previous" and _temporaries(tmp_path) == []


@pytest.mark.parametrize("second_rename_fails", [False, True])
def test_folder_swap_without_an_atomic_exchange_keeps_the_old_folder_on_failure(
        tmp_path, monkeypatch, second_rename_fails):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "card.json").write_text("old")
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)  # NFS, macOS: two renames
    if second_rename_fails:
        replace = os.replace

        def failing(src, dst):
            if Path(dst) == target and not str(src).endswith("-old"):  # the new folder going in
                raise KeyboardInterrupt  # e.g. SIGTERM, turned into an exception by the CLI
            replace(src, dst)

        monkeypatch.setattr(files.os, "replace", failing)
    with pytest.raises(KeyboardInterrupt) if second_rename_fails else contextlib.nullcontext():
        with atomic_dir(target) as tmp:
            (tmp / "card.json").write_text("new")
    monkeypatch.undo()
    assert (target / "card.json").read_text() == ("old" if second_rename_fails else "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# --------------------------------------------------------------------------- signals


@pytest.fixture(scope="module")
def big_leads_csv(leads, tmp_path_factory) -> Path:
    """300,000 leads (the 600 simulated ones, 500 times, with their own ids): several seconds of
    scoring. Parquet, as it is written in a fraction of the time CSV takes."""
    frame = leads.drop(columns=["converted"])
    big = pd.concat([frame] * 500, ignore_index=True)
    big["lead_id"] = [f"L{i:07d}" for i in range(len(big))]
    path = tmp_path_factory.mktemp("big") / "leads.parquet"
    big.to_parquet(path, index=False)
    return path


def _start_scoring(source: Path, model_dir: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "forecasting", "leads", "score", str(source), "--model",
                             str(model_dir), "--out", str(out), "--chunksize", "2000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_partial_output(process: subprocess.Popen, folder: Path, timeout: float = 120) -> None:
    """Until the temporary scores hold rows (the run is half way), failing if the run ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {process.communicate()}")
        if any(p.stat().st_size > 100_000 for p in folder.glob(".scores.tmp-*.csv")):
            return
        time.sleep(0.05)
    process.kill()
    pytest.fail("no partial output appeared")


@pytest.fixture()
def previous_run(leads_csv, model_dir, tmp_path) -> tuple[Path, dict[str, bytes]]:
    """A complete earlier output (600 leads) in ``tmp_path/out``, and its files' bytes."""
    out = tmp_path / "out" / "scores.csv"
    assert _score(leads_csv, model_dir, out) == 0
    return out, _files(out.parent)


def test_sigterm_keeps_the_previous_output_and_removes_every_temporary(big_leads_csv, model_dir, previous_run):
    out, before = previous_run
    process = _start_scoring(big_leads_csv, model_dir, out)
    _wait_for_partial_output(process, out.parent)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err and "Traceback" not in err
    assert _files(out.parent) == before  # nothing left behind, nothing replaced


def test_after_sigkill_the_previous_output_stands_and_the_next_run_removes_the_leftover(
        big_leads_csv, leads_csv, model_dir, previous_run):
    out, before = previous_run
    process = _start_scoring(big_leads_csv, model_dir, out)
    _wait_for_partial_output(process, out.parent)
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    leftovers = _temporaries(out.parent)
    assert len(leftovers) == 1  # nothing can clean up after SIGKILL...
    assert {k: v for k, v in _files(out.parent).items() if k not in leftovers} == before  # ...but nothing was replaced
    assert _score(leads_csv, model_dir, out) == 0  # the next run of the same output removes it
    assert _temporaries(out.parent) == []
    assert sorted(_files(out.parent)) == sorted(before)


def test_run_turns_sigterm_into_exit_143_after_the_cleanup(tmp_path, capsys):
    import argparse
    import threading

    from forecasting.cli._common import run

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")

    def command(args):
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the handler raises here
        return 0

    assert run(argparse.Namespace(func=command)) == 143
    assert "interrupted by SIGTERM" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # put back for the caller
