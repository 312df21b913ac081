"""The package as a user installs it: a wheel in a fresh venv, run from an empty folder.

The wheel is built from a copy of the sources (as an sdist would hold them), installed
without its dependencies into a venv of its own, which sees the dependencies through a
``.pth`` file pointing at this environment's site-packages: no network, a few seconds.
Every command then runs in an empty working directory with ``HOME`` and
``XDG_DATA_HOME`` in a temporary folder, and must leave that directory empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORTS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
# What a source distribution holds (MANIFEST.in): enough to build the wheel.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "src", "notebooks")


def _copy_sources(to: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, to / name, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, to / name)
    return to


def _run(argv, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    (tmp / "project").mkdir()
    sources = _copy_sources(tmp / "project")
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist"),
                 str(sources)])
    assert done.returncode == 0, done.stderr
    (found,) = (tmp / "dist").glob("forecasting-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A venv holding only the wheel, and the environment a user's shell would give it."""
    tmp = tmp_path_factory.mktemp("venv")
    venv = tmp / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    python = venv / "bin" / "python"
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                 "--quiet", str(wheel)])
    assert done.returncode == 0, done.stderr
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                   .stdout.strip())
    # The dependencies, after the venv's own packages: the installed forecasting comes first.
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    home = tmp / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "FORECASTING_", "JUPYTER", "XDG_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), MPLCONFIGDIR=str(home / "mpl"), OMP_NUM_THREADS="1",
               FORECASTING_PROGRESS="0",
               # nbconvert's templates and the kernel spec are data files of the dependencies' install.
               JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"),
               PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    cwd = tmp / "cwd"
    cwd.mkdir()
    return {"bin": venv / "bin", "python": python, "env": env, "cwd": cwd, "home": home, "tmp": tmp}


def _forecasting(installed, *args, timeout: float = 600) -> subprocess.CompletedProcess:
    return _run([str(installed["bin"] / "forecasting"), *args], cwd=installed["cwd"], env=installed["env"],
                timeout=timeout)


def test_the_wheel_ships_every_report_notebook(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n[len("forecasting/notebooks/"):-len(".ipynb")] for n in names
                  if n.startswith("forecasting/notebooks/") and n.endswith(".ipynb")) == REPORTS
    # Test-only files stay in the checkout.
    assert not [n for n in names if n.endswith(("conftest.py", "sanitize.cfg"))]


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    done = _run([str(installed["python"]), "-c", "import forecasting, forecasting.paths as p; "
                 "print(forecasting.__file__); print(p.checkout_root()); print(p.project_root())"],
                cwd=installed["cwd"], env=installed["env"])
    where, checkout, root = done.stdout.split("\n")[:3]
    assert Path(where).is_relative_to(installed["tmp"] / "venv"), done.stderr
    assert checkout == "None"
    assert Path(root) == installed["home"] / "data" / "forecasting"


def test_report_list_names_every_report(installed):
    done = _forecasting(installed, "report", "list")
    assert done.returncode == 0, done.stderr
    listed = [line for line in done.stdout.splitlines() if line and not line.startswith(" ")]
    assert listed == REPORTS
    assert list(installed["cwd"].iterdir()) == []


def test_a_report_runs_on_the_demo_data_and_writes_nothing_into_the_working_directory(installed):
    out = installed["tmp"] / "kpis_report"
    done = _forecasting(installed, "report", "run", "sales_kpis", "--source", "demo", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "sales_kpis.html").is_file() and (out / "run.json").is_file()
    # The demo CRM is made on first use in the per-user data folder, not in the working directory.
    assert (installed["home"] / "data" / "forecasting" / "data" / "demo" / "crm.duckdb").is_file()
    assert list(installed["cwd"].iterdir()) == []


@pytest.mark.slow
def test_demo_runs_every_step_and_writes_only_its_out(installed):
    """`forecasting demo` after install: every step and every report, outputs only in --out (cwd-relative)."""
    before = sorted(installed["cwd"].rglob("*"))
    assert before == []
    done = _forecasting(installed, "demo", "--out", "out", timeout=3600)  # ~90 s on 2 idle cores
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stderr[done.stderr.rindex("\nstep "):]
    print(table)  # with -s
    assert all(f"report {name} " in table for name in REPORTS) and "leads compare " in table
    assert [p.name for p in installed["cwd"].iterdir()] == ["out"]
    for name in REPORTS:
        assert (installed["cwd"] / "out" / "reports" / name / f"{name}.html").is_file(), name
    assert "FAILED" not in done.stderr
    # The saved model goes to the per-user folder, beside the demo data.
    assert (installed["home"] / "data" / "forecasting" / "models" / "demo").is_dir()


def test_outside_a_checkout_files_go_to_the_per_user_data_folder(tmp_path, monkeypatch):
    from forecasting import paths

    monkeypatch.delenv("FORECASTING_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(paths, "checkout_root", lambda: None)
    assert paths.demo_database() == tmp_path / "xdg" / "forecasting" / "data" / "demo" / "crm.duckdb"
    assert paths.models_dir() == tmp_path / "xdg" / "forecasting" / "models"
    assert paths.reports_dir() == tmp_path / "xdg" / "forecasting" / "reports"
    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path / "home"))  # still overrides
    assert paths.demo_database() == tmp_path / "home" / "data" / "demo" / "crm.duckdb"


def test_in_a_checkout_files_go_to_the_checkout(monkeypatch):
    from forecasting import paths

    monkeypatch.delenv("FORECASTING_HOME", raising=False)
    monkeypatch.chdir(ROOT / "notebooks")
    assert paths.checkout_root() == ROOT and paths.demo_dir() == ROOT / "data" / "demo"
