"""What produced an output: parameters, versions, git revision, timings (``run.json``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

__all__ = ["package_versions", "git_revision", "RunLog"]

_PACKAGES = (
    "forecasting",
    "numpy",
    "pandas",
    "scikit-learn",
    "statsmodels",
    "duckdb",
    "pyarrow",
    "skops",
    "papermill",
    "matplotlib",
)


def package_versions(packages=_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the numbers (``None`` if absent)."""
    versions = {"python": sys.version.split()[0]}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(path: Path | None = None) -> str | None:
    """Commit of the project checkout (with ``-dirty`` if it has changes), or None."""
    from .paths import project_root

    cwd = path or project_root()
    try:
        rev = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=cwd, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev or None


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


class RunLog:
    """Collects what a command did and writes ``run.json`` beside its outputs.

    Parameters
    ----------
    command : str
        The command, e.g. ``"kpis"`` or ``"report run pipeline_forecast"``.
    parameters : mapping
        Parameters as the user gave them (paths, dates, options).
    """

    def __init__(self, command: str, parameters: Mapping | None = None):
        self.command = command
        self.parameters = dict(parameters or {})
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()
        self._last = self._t0
        self.timings: dict[str, float] = {}
        self.outputs: dict[str, str] = {}
        self.extra: dict = {}

    def step(self, name: str) -> None:
        """Record the seconds since the previous step under ``name``."""
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now

    def to_dict(self, status: str = "ok", error: str | None = None) -> dict:
        record = {
            "command": self.command,
            "parameters": self.parameters,
            "status": status,
            "started_at": self.started.isoformat(timespec="seconds"),
            "duration_seconds": round(time.perf_counter() - self._t0, 3),
            "timings": self.timings,
            "outputs": self.outputs,
            "git_revision": git_revision(),
            "versions": package_versions(),
            **self.extra,
        }
        if error:
            record["error"] = error
        return _jsonable(record)

    def write(self, out_dir: Path, status: str = "ok", error: str | None = None, name: str = "run.json") -> Path:
        """Write ``out_dir/run.json`` (or ``out_dir/name``) atomically and return its path."""
        from .data.io import write_text

        path = Path(out_dir) / name
        write_text(path, json.dumps(self.to_dict(status, error), indent=2) + "\n")
        return path
