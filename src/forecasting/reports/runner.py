"""Run a report notebook with papermill: a name, parameters, an output folder.

A run writes, in ``out_dir``:

- ``NAME.ipynb``: the executed notebook (kept on failure, with the error);
- ``NAME.html``: self-contained HTML with the code hidden (only on success);
- ``run.json``: parameters, every resolved value (``resolved``: the notebook's
  defaults, the parameters passed and what the notebook resolved from the data),
  git revision, package versions, start, duration, status and the hashes of the
  result tables the notebook wrote (CSV columns named ``*_seconds`` are timings
  of the run, not results: left out of the hash);
- ``tables/``: result tables the notebook saved (its ``out_dir`` parameter).

The run happens in a temporary folder beside ``out_dir`` that replaces it only
when complete: an interrupted run (killed, out of memory) leaves the previous
report as it was. A failed run next to a previous complete report leaves that
report too, and puts ``NAME.failed.ipynb`` and ``run.failed.json`` beside it.

Every figure in the HTML has alt text: its title (the kernel is started with
:func:`forecasting._figures.add_alt_text`), else the heading of its section.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from ..data.errors import DataError, Problem
from ..data.io import atomic_dir, parse_source, redact_url, write_text
from ..paths import checkout_root, project_root, reports_dir

__all__ = [
    "ReportError",
    "RunResult",
    "notebooks_dir",
    "available_reports",
    "report_parameters",
    "coerce_parameters",
    "run_report",
]

_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.IGNORECASE)
_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict}
_VOLATILE = "_seconds"  # result-table columns that time the run: not hashed
_RESOLVED = "resolved.json"  # the notebook's resolved values (context.record_resolved): run.json, not a table
_PATHS = ("source", "stages")  # parameters naming files: made absolute, as the kernel runs elsewhere
# Run at kernel start (forecasting.reports.kernel.setup): every figure shown carries its title as alt
# text, progress bars stay off (nobody watches a batch run) and warnings read as one-line notes.
_KERNEL_SETUP = "--IPKernelApp.exec_lines=import forecasting.reports.kernel as _k; _k.setup(); del _k"
# The kernel's own log is noise in a batch run: jupyter_client interrupts (SIGINT) the kernel on
# every shutdown, which it may log as "KeyboardInterrupt caught in kernel". Cell errors and
# warnings are outputs of the notebook, not of this log.
_KERNEL_QUIET = "--IPKernelApp.log_level=CRITICAL"
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMG_DATA = re.compile(r"\bsrc=[\"']data:image/[\w+.-]+;base64,([^\"']*)", re.IGNORECASE)
_ALT = re.compile(r"\s+alt\s*=\s*(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_NO_ALT = ("", "No description has been provided for this image")  # nbconvert's placeholder
_HEADING = re.compile(r"^#+\s+(.+?)\s*#*$", re.MULTILINE)


class ReportError(DataError):
    """Bad report name or parameters (exit code 2 from the CLI)."""


@dataclass
class RunResult:
    """Where a report run wrote its files and how it went."""

    name: str
    status: str
    out_dir: Path
    notebook: Path
    html: Path | None
    run_json: Path
    seconds: float
    error: str | None = None
    tables: dict[str, str] = field(default_factory=dict)
    id: str = ""  # the schedule entry's id (its folder); the report name by default

    def __post_init__(self) -> None:
        self.id = self.id or self.name

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def notebooks_dir() -> Path:
    """The report notebooks: the first ``notebooks/`` folder of ``$FORECASTING_HOME`` and the
    checkout (so edits show up), else the copies installed with the package.
    """
    for root in (project_root(), checkout_root()):
        if root is not None and (root / "notebooks").is_dir():
            return root / "notebooks"
    # A wheel ships them as package data (setup.py copies notebooks/ into forecasting/notebooks).
    from importlib.resources import files

    return Path(str(files("forecasting") / "notebooks"))


def available_reports() -> list[str]:
    """Names of the report notebooks (``notebooks/*.ipynb``)."""
    return sorted(p.stem for p in notebooks_dir().glob("*.ipynb"))


def _notebook_path(name: str) -> Path:
    # A name is a bare word: no path separators, no "..", so nothing outside notebooks/ runs.
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ReportError(Problem("report", "name", f"{name!r} is not a report name; "
                                  f"available: {', '.join(available_reports()) or 'none'}"))
    path = notebooks_dir() / f"{name}.ipynb"
    if not path.is_file():
        raise ReportError(Problem("report", "name", f"no report named {name!r}; "
                                  f"available: {', '.join(available_reports()) or 'none'}"))
    return path


def report_parameters(name: str) -> dict[str, dict]:
    """Parameters of a report from its ``parameters`` cell: name -> type, default, help.

    Uses :func:`papermill.inspect_notebook`, so the notebook's typed literals and
    their comments are the single source of truth.
    """
    import papermill

    return {
        key: {"type": spec["inferred_type_name"], "default": spec["default"], "help": spec["help"]}
        for key, spec in papermill.inspect_notebook(str(_notebook_path(name))).items()
    }


def _coerce(value, type_name: str):
    kind = _TYPES.get(type_name.split("[")[0].strip().lower())
    if kind is None or isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if not isinstance(value, str):
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"expected {type_name}, got {type(value).__name__}")
    if kind is str:
        return value
    if kind is bool:
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(f"expected true/false, got {value!r}")
    if kind in (int, float):
        return kind(value)
    parsed = ast.literal_eval(value)  # lists / dicts given as Python literals
    if not isinstance(parsed, kind):
        raise ValueError(f"expected {type_name}, got {value!r}")
    return parsed


def coerce_parameters(name: str, given: dict) -> dict:
    """Check ``given`` against the notebook's parameters cell and convert CLI strings.

    Raises
    ------
    ReportError
        For an unknown name or a value of the wrong type, listing the valid parameters.
    """
    spec = report_parameters(name)
    valid = ", ".join(f"{k} ({v['type']})" for k, v in spec.items())
    problems, out = [], {}
    for key, value in given.items():
        if key not in spec:
            problems.append(Problem("report", key, f"is not a parameter of {name}; valid: {valid}"))
            continue
        try:
            out[key] = _coerce(value, spec[key]["type"])
        except (ValueError, SyntaxError) as exc:
            problems.append(Problem("report", key, f"{exc}; valid: {valid}"))
    if problems:
        raise ReportError(problems)
    return out


def _hashed_bytes(path: Path) -> bytes:
    """A result table as hashed: a CSV without its ``*_seconds`` (timing) columns, other files as they are."""
    data = path.read_bytes()
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))) if path.suffix == ".csv" else []
    except (UnicodeDecodeError, csv.Error):
        return data
    keep = [i for i, name in enumerate(rows[0] if rows else []) if not name.endswith(_VOLATILE)]
    if not rows or len(keep) == len(rows[0]):
        return data
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([row[i] for i in keep if i < len(row)] for row in rows)
    return out.getvalue().encode()


def _hash_tables(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.name: hashlib.sha256(_hashed_bytes(p)).hexdigest()[:16]
        for p in sorted(folder.iterdir()) if p.is_file() and p.name != _RESOLVED
    }


def _alt_texts(nb) -> dict[str, str]:
    """Alt text of every image output, keyed by its base64 data: its title, else its section's heading."""
    alts, heading = {}, ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _HEADING.findall(cell.source)
            heading = found[-1] if found else heading
            continue
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                if mime.startswith("image/") and isinstance(data, str):
                    title = output.get("metadata", {}).get(mime, {}).get("alt")
                    alts["".join(data.split())] = title or (f"Figure: {heading}" if heading else "Figure")
    return alts


def _add_alt_text(body: str, alts: dict[str, str]) -> str:
    """Give every ``<img>`` without real alt text the alt of its figure (``"Figure"`` when unknown)."""
    def one(match: re.Match) -> str:
        tag = match.group(0)
        old = _ALT.search(tag)
        if old and old.group(1)[1:-1].strip() not in _NO_ALT:
            return tag
        data = _IMG_DATA.search(tag)
        alt = alts.get("".join(data.group(1).split()), "Figure") if data else "Figure"
        return f'<img alt="{escape(alt)}"' + _ALT.sub("", tag[4:])

    return _IMG.sub(one, body)


def _export_html(notebook: Path, html: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    # Its own logger, errors only: nbconvert warns of missing alt text that _add_alt_text adds below.
    log = logging.getLogger(f"{__name__}.nbconvert")
    log.setLevel(logging.ERROR)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, log=log)
    nb = nbformat.read(notebook, as_version=4)
    body, _ = exporter.from_notebook_node(nb)
    # Self-contained: reports use no math or widgets, so drop the template's CDN scripts
    # (require.js, MathJax) that a browser would try to fetch.
    body = _add_alt_text(_REMOTE_SCRIPT.sub("", body), _alt_texts(nb))
    write_text(html, body)


def _absolute(key: str, value):
    """A ``source`` or ``stages`` path made absolute: the kernel runs in the output folder.

    URLs, ``demo`` and sources of unknown format (the notebook refuses them) pass as given.
    """
    if key not in _PATHS or not isinstance(value, str) or not value.strip() or "://" in value:
        return value
    if key == "stages":
        return str(Path(value).expanduser().resolve())
    if value == "demo" or value.startswith("demo:"):
        return value
    try:
        src = parse_source(value)
    except DataError:
        return value
    return str(dataclasses.replace(src, location=str(Path(src.location).expanduser().resolve())))


def _without_password(value):
    """A database URL with its password masked: run.json is read by more people than the database."""
    if isinstance(value, str) and "://" in value and "@" in value:
        url, sep, rest = value.partition("#")
        return redact_url(url) + sep + rest
    return value


def _redact_notebook(notebook: Path, params: dict) -> None:
    """Mask database passwords in the executed notebook (its parameters cell, any output that
    prints the source): the notebook and its HTML are shared like run.json."""
    if not notebook.exists():
        return
    text = original = notebook.read_text(encoding="utf-8")
    for value in params.values():
        masked = _without_password(value)
        if masked != value:  # as the JSON file spells them
            text = text.replace(json.dumps(value)[1:-1], json.dumps(masked)[1:-1])
    if text != original:
        write_text(notebook, text)


def _run_files(name: str) -> set[str]:
    """What a run of report ``name`` writes in its folder (a failed run beside a complete one included)."""
    return {f"{name}.ipynb", f"{name}.html", "run.json", "tables", f"{name}.failed.ipynb", "run.failed.json"}


def _previous_run(out: Path, name: str) -> dict | None:
    """The run.json of the run in ``out``: None for a new or empty folder.

    A folder holding files that no report run wrote is refused, so that replacing
    the run can never delete someone's files (``--out ~`` by mistake, say).
    """
    if not out.exists():
        return None
    if not out.is_dir():
        raise ReportError(Problem("report", "out", f"--out {out} is a file, not a folder"))
    try:
        record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        record = None
    except (OSError, ValueError):
        record = {}
    record = record if isinstance(record, dict) or record is None else {}
    ours = _run_files(name) | (_run_files(str(record["report"])) if record and "report" in record else set())
    # Hidden temp files of atomic writes interrupted in an older run are ours too.
    foreign = sorted(p for p in os.listdir(out) if p not in ours and not (p.startswith(".") and ".tmp-" in p))
    if foreign:
        raise ReportError(Problem("report", "out", f"--out {out} holds files that no report run wrote "
                                  f"({', '.join(foreign[:5])}); pick a new or empty folder"))
    return record


def _changes(record: dict, name: str, params: dict) -> list[str]:
    """How a run of ``name`` with ``params`` differs from the run recorded in ``record``."""
    if record.get("report", name) != name:
        return [f"report {record.get('report')} -> {name}"]
    old = {k: v for k, v in (record.get("parameters") or {}).items() if k != "out_dir"}
    new = json.loads(json.dumps({k: v for k, v in params.items() if k != "out_dir"}))
    return [f"{k}: {old.get(k, '(default)')} -> {new.get(k, '(default)')}"
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _check_replace(out: Path, previous: dict | None, name: str, params: dict, force: bool) -> None:
    """Refuse to replace a complete run of other parameters without ``force``.

    A re-run with the same report and parameters (a schedule run twice in a week)
    replaces the previous run, as does any run after a failed one.
    """
    if previous is None or force or previous.get("status") != "ok":
        return
    changes = _changes(previous, name, params)
    if changes:
        raise ReportError(Problem("report", "out", f"{out} already holds a run with other parameters "
                                  f"({'; '.join(changes[:5])}); pass --force to replace it"))


def _kernel_config(folder: str):
    """Kernel sockets as Unix sockets in a private folder: no TCP port any local user can read
    (and no "running over TCP without encryption" warning). TCP where there are none."""
    from traitlets.config import Config

    if os.name != "posix":
        return Config()
    return Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "kernel")}})


def _execute(source: Path, notebook: Path, params: dict, cwd: Path, progress: bool) -> str | None:
    """Run the notebook into ``notebook``; the error of a failed run (None when it succeeded)."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    with tempfile.TemporaryDirectory(prefix="forecasting-kernel-") as sockets:
        try:
            papermill.execute_notebook(
                str(source), str(notebook), parameters=params, kernel_name="python3",
                cwd=str(cwd), progress_bar=progress, log_output=False,
                extra_arguments=[_KERNEL_SETUP, _KERNEL_QUIET], config=_kernel_config(sockets),
            )
        except papermill.PapermillExecutionError as exc:
            return f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
        except DeadKernelError as exc:  # killed inside: out of memory, say
            return f"the kernel died ({exc}); out of memory?"
    return None


def _resolved(declared: dict, params: dict, tables: str | None) -> dict:
    """Every value the run used: the notebook's defaults, the parameters passed, then what
    the notebook resolved and recorded in ``resolved.json`` (as_of from the data, say)."""
    values = {key: spec["default"] for key, spec in declared.items()}
    for key, text in values.items():
        try:  # papermill gives the defaults as source text
            values[key] = ast.literal_eval(text) if isinstance(text, str) else text
        except (ValueError, SyntaxError):
            pass
    values.update(params)
    path = Path(tables) / _RESOLVED if tables else None
    if path is not None and path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = {}
        values.update(recorded if isinstance(recorded, dict) else {})
    values.update({"out_dir": params["out_dir"]} if "out_dir" in params else {})  # not the temporary folder
    return {key: _without_password(value) for key, value in values.items()}


class _PreviousKept(Exception):
    """A failed run next to a complete one: the swap is called off."""


def _keep_previous(notebook: Path, out: Path, log, error: str) -> tuple[Path, Path]:
    """Put a failed run's notebook and record beside the complete run in ``out``, which stays."""
    failed = out / f"{notebook.stem}.failed.ipynb"
    if notebook.exists():
        os.replace(notebook, failed)  # one file system: the run's folder is beside out
        log.outputs["notebook"] = str(failed)
    return failed, log.write(out, status="failed", error=error, name="run.failed.json")


def run_report(
    name: str,
    parameters: dict | None = None,
    out_dir: str | Path | None = None,
    *,
    force: bool = False,
    progress: bool = False,
) -> RunResult:
    """Run report ``name`` with ``parameters`` into ``out_dir``.

    Parameters
    ----------
    name : str
        A notebook in ``notebooks/`` (without ``.ipynb``).
    parameters : dict, optional
        Values for the notebook's parameters cell; strings are converted to the
        declared types; ``source`` and ``stages`` paths are taken relative to the
        working directory. Parameters not given keep the notebook's defaults.
    out_dir : str or Path, optional
        Default: ``reports/<name>`` under the project root
        (:func:`forecasting.paths.reports_dir`). A new folder, an empty one
        or the folder of an earlier run.
    force : bool
        Replace an earlier complete run with other parameters. One with the same
        report and parameters, or a failed one, is replaced without it.
    progress : bool
        Show papermill's cell progress bar.

    Returns
    -------
    RunResult
        ``status`` is ``"ok"`` or ``"failed"``; a failed run keeps the executed
        notebook with the error and writes no HTML. Next to an earlier complete
        run, that run stays and the failed one is ``NAME.failed.ipynb`` with
        ``run.failed.json``.

    Raises
    ------
    ReportError
        Unknown report or parameter, a bad value, an ``out_dir`` holding other
        files or another run (without ``force``).
    """
    from ..provenance import RunLog

    source = _notebook_path(name)
    declared = report_parameters(name)
    params = {k: _absolute(k, v) for k, v in coerce_parameters(name, dict(parameters or {})).items()}
    out = Path(out_dir or reports_dir() / name).expanduser().resolve()
    previous = _previous_run(out, name)
    own_tables = "out_dir" in declared and "out_dir" not in params
    recorded = {k: _without_password(v) for k, v in params.items()}
    recorded.update({"out_dir": str(out / "tables")} if own_tables else {})
    _check_replace(out, previous, name, recorded, force)
    log = RunLog(f"report run {name}", recorded)
    log.extra["report"] = name
    notebook, html = out / f"{name}.ipynb", out / f"{name}.html"
    t0 = time.perf_counter()
    try:
        with atomic_dir(out) as stage:
            run_params = {**params, **({"out_dir": str(stage / "tables")} if own_tables else {})}
            error = _execute(source, stage / notebook.name, run_params, stage, progress)
            _redact_notebook(stage / notebook.name, params)
            log.step("execute")
            if error is None:
                _export_html(stage / notebook.name, stage / html.name)
                log.step("html")
            tables = _hash_tables(stage / "tables")
            log.extra.update(tables=tables, resolved=_resolved(declared, recorded, run_params.get("out_dir")))
            if error is not None and previous and previous.get("status") == "ok":
                notebook, run_json = _keep_previous(stage / notebook.name, out, log, error)
                raise _PreviousKept
            log.outputs.update({"notebook": str(notebook), **({"html": str(html)} if error is None else {})})
            log.write(stage, status="failed" if error else "ok", error=error)
    except _PreviousKept:
        return RunResult(name, "failed", out, notebook, None, run_json, time.perf_counter() - t0, error, tables)
    return RunResult(name, "failed" if error else "ok", out, notebook, None if error else html,
                     out / "run.json", time.perf_counter() - t0, error, tables)
