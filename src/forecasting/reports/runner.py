"""Run a report notebook with papermill: a name, parameters, an output folder.

A run writes, in ``out_dir``:

- ``NAME.ipynb``: the executed notebook (kept on failure, with the error);
- ``NAME.html``: self-contained HTML with the code hidden (only on success);
- ``run.json``: parameters, git revision, package versions, start, duration,
  status and the hashes of the result tables the notebook wrote (CSV columns
  named ``*_seconds`` are timings of the run, not results: left out of the hash);
- ``tables/``: result tables the notebook saved (its ``out_dir`` parameter).

Every figure in the HTML has alt text: its title (the kernel is started with
:func:`forecasting._figures.add_alt_text`), else the heading of its section.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import logging
import re
import shutil
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from ..data.errors import DataError, Problem
from ..data.io import atomic_path, write_text
from ..paths import project_root

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
# Run at kernel start: every figure shown carries its title as alt text in the output metadata.
_KERNEL_SETUP = "--IPKernelApp.exec_lines=import forecasting._figures as _alt; _alt.add_alt_text(); del _alt"
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

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def notebooks_dir() -> Path:
    """The report notebooks: ``<project root>/notebooks``."""
    return project_root() / "notebooks"


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
        for p in sorted(folder.iterdir()) if p.is_file()
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
        declared types.
    out_dir : str or Path, optional
        Default: ``<project root>/reports/<name>``.
    force : bool
        Replace an existing run in ``out_dir``.
    progress : bool
        Show papermill's cell progress bar.

    Returns
    -------
    RunResult
        ``status`` is ``"ok"`` or ``"failed"``; a failed run keeps the executed
        notebook with the error and writes no HTML.
    """
    import papermill

    from ..provenance import RunLog

    source = _notebook_path(name)
    params = coerce_parameters(name, dict(parameters or {}))
    out = Path(out_dir) if out_dir else project_root() / "reports" / name
    notebook, html = out / f"{name}.ipynb", out / f"{name}.html"
    if out.exists() and not out.is_dir():
        raise ReportError(Problem("report", "out", f"--out {out} is a file, not a folder"))
    if (out / "run.json").exists() and not force:
        raise ReportError(Problem("report", "out", f"{out} already holds a run; pass --force to replace it"))
    out.mkdir(parents=True, exist_ok=True)
    for stale in (html, out / "run.json"):
        stale.unlink(missing_ok=True)
    tables = out / "tables"
    shutil.rmtree(tables, ignore_errors=True)
    if "out_dir" in report_parameters(name):
        params.setdefault("out_dir", str(tables.resolve()))

    log = RunLog(f"report run {name}", params)
    log.extra["report"] = name
    error = None
    t0 = time.perf_counter()
    with atomic_path(notebook) as tmp:
        try:
            papermill.execute_notebook(
                str(source), str(tmp), parameters=params, kernel_name="python3",
                cwd=str(out.resolve()), progress_bar=progress, log_output=False,
                extra_arguments=[_KERNEL_SETUP],
            )
        except papermill.PapermillExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
    log.step("execute")
    if error is None:
        _export_html(notebook, html)
        log.step("html")
    result = RunResult(name, "failed" if error else "ok", out, notebook, None if error else html,
                       out / "run.json", time.perf_counter() - t0, error, _hash_tables(tables))
    log.outputs.update({"notebook": str(notebook), **({"html": str(html)} if not error else {})})
    log.extra["tables"] = result.tables
    log.write(out, status=result.status, error=error)
    return result
