"""Fixtures shared by the lead-scoring test modules (registered in conftest.py).

``quiet_one_thread``: BLAS/OpenMP at one thread and the data layer's warnings off;
modules opt in with ``pytestmark = pytest.mark.usefixtures("quiet_one_thread")``.
``leads`` / ``model_dir``: 600 simulated leads and a logistic model saved from them;
a module may define its own ``leads``.
"""

from __future__ import annotations

import contextlib
import warnings

import pytest
from threadpoolctl import threadpool_limits

from forecasting.data.validate import DataWarning


@contextlib.contextmanager
def one_quiet_thread():
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        yield


def train_quietly(leads, name: str, **kwargs):
    """``train_model`` on one thread with the data warnings off."""
    from forecasting.leads import train_model

    with one_quiet_thread():
        return train_model(leads, name, **kwargs)


@pytest.fixture
def quiet_one_thread():
    with one_quiet_thread():
        yield


@pytest.fixture(scope="module")
def leads():
    from test_leads_models import simulate_leads

    return simulate_leads(600, seed=3)[0]


@pytest.fixture(scope="module")
def model_dir(leads, tmp_path_factory):
    return train_quietly(leads, "logistic", n_boot=20).save(tmp_path_factory.mktemp("models") / "logistic")
