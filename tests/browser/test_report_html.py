"""Every report on the demo data, opened in headless Chromium.

Each report runs with its default parameters. Its HTML must hold every figure and table of
the executed notebook (and no code, warning or error), and the page Chromium draws must show
every figure, pixel for pixel. Screenshots go to ``reports/browser/NAME.png`` for a human look.
Run with ``make test-browser``.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from forecasting.paths import reports_dir
from forecasting.reports import available_reports, run_report

REPORTS = available_reports()
WIDTH = 1280  # a laptop browser window
HEIGHTS = (6000, 12000, 24000)  # window heights tried until the whole page fits
MAX_TABLE_ROWS = 30  # a report shows summaries; long tables belong in tables/*.csv
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


class _Page(HTMLParser):
    """What a report's HTML holds: embedded images, tables and their rows, stderr outputs, code."""

    def __init__(self, html: str):
        super().__init__()
        self.images, self.table_rows, self.stderr, self.code = [], [], 0, 0
        self.words: list[str] = []
        self._skip = 0  # inside <style>/<script>: not text a reader sees
        self.feed(html)

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip:
            self.words += data.split()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._skip += tag in ("style", "script")
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        elif tag == "table":
            self.table_rows.append(0)
        elif tag == "tr" and self.table_rows:
            self.table_rows[-1] += 1
        # nbconvert's lab template marks stream stderr and tracebacks with this MIME type.
        self.stderr += attrs.get("data-mime-type") == "application/vnd.jupyter.stderr"
        self.code += "jp-InputArea-editor" in (attrs.get("class") or "").split()


def _png(data: str | bytes) -> np.ndarray:
    raw = base64.b64decode(data) if isinstance(data, str) else data
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


def _ink(pixels: np.ndarray) -> np.ndarray:
    """Rows x columns mask of pixels that are not (near) white."""
    return (pixels < 245).any(axis=-1)


def _notebook_outputs(path: Path) -> tuple[list[np.ndarray], int]:
    """The figures (as RGB arrays) and the number of HTML tables the executed notebook shows."""
    nb = nbformat.read(path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    figures = [_png(o["data"]["image/png"]) for o in outputs if "image/png" in o.get("data", {})]
    tables = sum("<table" in o.get("data", {}).get("text/html", "") for o in outputs)
    return figures, tables


def _screenshot(chromium: str, html: Path, png: Path, width: int) -> np.ndarray:
    """Screenshot ``html`` into ``png``, cropped below the page's end; grow the window until it fits."""
    for height in HEIGHTS:
        png.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            done = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                 f"--window-size={width},{height}", html.resolve().as_uri()],
                capture_output=True, text=True, timeout=300,
            )
        assert done.returncode == 0 and png.is_file(), done.stderr[-3000:]
        shot = _png(png.read_bytes())
        if not _ink(shot[-100:]).any():  # a blank bottom strip: the whole page is in
            break
    else:
        pytest.fail(f"{html.name} is longer than {HEIGHTS[-1]} px")
    end = int(np.flatnonzero(_ink(shot).any(axis=1)).max()) + 24
    Image.fromarray(shot[:end]).save(png)
    return shot[:end]


def _find(figure: np.ndarray, shot: np.ndarray) -> tuple[int, int] | None:
    """Top-left corner where ``figure`` appears unscaled and unchanged in ``shot``, else None."""
    h, w, _ = figure.shape
    key = int(np.argmax(_ink(figure).sum(axis=1)))  # the figure's busiest row
    needle, haystack, stride = figure[key].tobytes(), shot.tobytes(), shot.shape[1] * 3
    start = haystack.find(needle)
    while start >= 0:
        y, x = divmod(start, stride)
        top, left = y - key, x // 3
        if x % 3 == 0 and left + w <= shot.shape[1] and 0 <= top <= shot.shape[0] - h \
                and np.array_equal(shot[top:top + h, left:left + w], figure):
            return top, left
        start = haystack.find(needle, start + 1)
    return None


# Reports on data we did not generate, as a user runs them: a public dataset mapped by
# `forecasting data public`, then only `source` (and `stages`) given. Maven CRM has its own
# stages and no stage history; Superstore is revenue only (no opportunities for the blend).
PUBLIC_RUNS = [("sales_kpis", "maven_crm"), ("pipeline_forecast", "maven_crm"),
               ("revenue_forecast", "superstore"), ("forecast_call", "maven_crm")]
CASES = [(name, "demo") for name in REPORTS] + PUBLIC_RUNS


@pytest.fixture(scope="session")
def public_source(tmp_path_factory):
    """``forecasting data public NAME`` into a DuckDB file once per session: its report parameters."""
    made = {}

    def make(dataset):
        if dataset not in made:
            out = tmp_path_factory.mktemp(dataset) / f"{dataset}.duckdb"
            done = subprocess.run([sys.executable, "-m", "forecasting", "data", "public", dataset, "--out", str(out)],
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
            stages = out.with_suffix(".stages.yaml")
            made[dataset] = {"source": str(out), **({"stages": str(stages)} if stages.exists() else {})}
        return made[dataset]

    return make


@pytest.fixture(scope="session")
def report_run(tmp_path_factory, public_source):
    """Run a report once per session into a temporary folder: with its defaults (the demo CRM),
    or on a public dataset with only ``source``/``stages`` given."""
    runs = {}

    def run(name, dataset="demo"):
        key = (name, dataset)
        if key not in runs:
            params = {} if dataset == "demo" else public_source(dataset)
            runs[key] = run_report(name, params, tmp_path_factory.mktemp(f"{name}-{dataset}"))
        assert runs[key].ok, runs[key].error
        return runs[key]

    return run


def _shot_name(name: str, dataset: str) -> str:
    return f"{name}.png" if dataset == "demo" else f"{name}-{dataset}.png"


@pytest.mark.parametrize(("name", "dataset"), CASES)
def test_html_holds_every_figure_and_table(name, dataset, report_run):
    result = report_run(name, dataset)
    figures, tables = _notebook_outputs(result.notebook)
    page = _Page(result.html.read_text(encoding="utf-8"))
    assert len(figures) >= 1 and tables >= 1, "a report shows at least one figure and one table"
    assert [img[:22] for img in page.images] == ["data:image/png;base64,"] * len(figures)  # self-contained
    assert [_png(img.split(",", 1)[1]).shape for img in page.images] == [f.shape for f in figures]
    assert len(page.table_rows) == tables
    assert max(page.table_rows) <= MAX_TABLE_ROWS + 2  # + the header rows
    assert page.stderr == 0, "warnings or errors are printed in the report"
    assert page.code == 0, "the report shows code"


@pytest.mark.parametrize(("name", "dataset"), CASES)
def test_browser_draws_every_figure(name, dataset, report_run, chromium):
    result = report_run(name, dataset)
    figures, _ = _notebook_outputs(result.notebook)
    out = reports_dir() / "browser"
    out.mkdir(parents=True, exist_ok=True)
    # Wide enough that no figure is shrunk to fit, so each one can be found pixel for pixel.
    width = max(WIDTH, max(f.shape[1] for f in figures) + 100)
    shot = _screenshot(chromium, result.html, out / _shot_name(name, dataset), width)
    assert shot.shape[0] > sum(f.shape[0] for f in figures)  # the figures plus text and tables
    assert _ink(shot).mean() > 0.03, "the page is (nearly) blank"
    places = [_find(f, shot) for f in figures]
    missing = [i for i, p in enumerate(places) if p is None]
    assert not missing, f"figures {missing} (0-based, notebook order) are not drawn at full size"
    tops = [top for top, _ in places]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)  # in notebook order, one place each


@pytest.mark.parametrize(("name", "dataset"), CASES)
def test_text_is_for_sales_leaders(name, dataset, report_run):
    """No NaN or inf in what the reader sees, and no engineer's three decimals on numbers."""
    page = _Page(report_run(name, dataset).html.read_text(encoding="utf-8"))
    bad = [w for w in page.words if w.strip(".,;:()%").lower() in ("nan", "inf", "-inf", "<na>", "nat")]
    assert not bad, f"{name} on {dataset} shows {bad[:5]}"
    three = [w for w in page.words if re.fullmatch(r"-?[\d,]+\.000", w.strip(",;:()"))]
    assert not three, f"{name} on {dataset} prints numbers with three zero decimals: {three[:5]}"
