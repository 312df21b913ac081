"""Report HTML: every figure has alt text (its title, else its section's heading); result-table hashes
leave out timing columns."""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser

import nbformat
import pytest

from forecasting.reports import run_report
from forecasting.reports.runner import _hash_tables

CELLS = [
    ("markdown", "# Tiny report\n\n## Revenue by month\nTwo figures follow."),
    ("code", "import matplotlib.pyplot as plt\n"
             "fig, ax = plt.subplots()\nax.plot([1, 2, 3])\nax.set_title('SMB')\n"
             "fig.suptitle('Revenue won per month')\nplt.show()"),
    ("code", "fig, ax = plt.subplots()\nax.bar([0, 1], [3, 4])\nplt.show()"),
]


class _Images(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.alts = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A throw-away project root with one report notebook drawing two figures."""
    nb = nbformat.v4.new_notebook()
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](source) for kind, source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "tiny.ipynb")
    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return tmp_path


def test_figures_get_their_title_else_their_heading_as_alt_text(project):
    result = run_report("tiny", {}, project / "out")
    assert result.ok, result.error
    alts = _Images(result.html.read_text()).alts
    assert alts == ["Revenue won per month. Panels: SMB", "Figure: Revenue by month"]
    # The title travels in the executed notebook too, as the PNG output's metadata.
    outputs = [o for c in nbformat.read(result.notebook, as_version=4).cells if c.cell_type == "code"
               for o in c.outputs if "image/png" in o.get("data", {})]
    assert [o.metadata.get("image/png", {}).get("alt") for o in outputs] == ["Revenue won per month. Panels: SMB",
                                                                            None]


def test_every_figure_of_a_real_report_has_its_title_as_alt_text(tmp_path):
    result = run_report("sales_kpis", {}, tmp_path / "kpis")
    assert result.ok, result.error
    alts = _Images(result.html.read_text()).alts
    assert len(alts) >= 4 and all(alt and alt.strip() for alt in alts)
    assert alts[0] == "Revenue won and pipeline created per period (all); Win rate and close ratio"


def _write(folder, name, text):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


def test_table_hashes_leave_out_timing_columns_only(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _write(a, "board.csv", "model,roc_auc,fit_seconds,predict_seconds\nlogistic,0.81,1.25,0.02\n")
    _write(b, "board.csv", "model,roc_auc,fit_seconds,predict_seconds\nlogistic,0.81,3.50,0.04\n")
    _write(c, "board.csv", "model,roc_auc,fit_seconds,predict_seconds\nlogistic,0.82,1.25,0.02\n")
    assert _hash_tables(a) == _hash_tables(b) != _hash_tables(c)
    # A table without timings hashes as its bytes, as before.
    _write(a, "plain.csv", "model,roc_auc\nlogistic,0.81\n")
    assert _hash_tables(a)["plain.csv"] == hashlib.sha256(b"model,roc_auc\nlogistic,0.81\n").hexdigest()[:16]
    assert _hash_tables(a)["board.csv"] == _hash_tables(a.parent / "b")["board.csv"]
