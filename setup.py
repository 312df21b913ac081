"""Build hook: the report notebooks ship inside the package.

The notebooks stay in the top-level ``notebooks/`` folder of the checkout (JupyterLab
and nbval use them there); a wheel carries a copy as ``forecasting/notebooks/*.ipynb``,
which :func:`forecasting.reports.notebooks_dir` reads through ``importlib.resources``
when the package is installed. Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


class build_py_with_notebooks(build_py):
    """``build_py`` that also copies ``notebooks/*.ipynb`` into ``forecasting/notebooks``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout's notebooks
            return
        target = Path(self.build_lib) / "forecasting" / "notebooks"
        target.mkdir(parents=True, exist_ok=True)
        for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
            shutil.copy2(notebook, target / notebook.name)


setup(cmdclass={"build_py": build_py_with_notebooks})
