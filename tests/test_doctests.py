"""The Examples sections of the docstrings run, as users copy them into a notebook."""

import doctest
import importlib
import pkgutil
import warnings

import pytest

import forecasting

# __main__ runs the command line when imported.
MODULES = sorted(m.name for m in pkgutil.walk_packages(forecasting.__path__, "forecasting.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # examples may show a fallback; its warning is not the point
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                                 verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see stdout)"
