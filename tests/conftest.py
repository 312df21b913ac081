"""Test settings shared by every test module."""

import os

import pytest

# Figures render off-screen; no display on CI.
os.environ.setdefault("MPLBACKEND", "Agg")

# `postgres_url`: a throw-away PostgreSQL server for the tests that read PostgreSQL sources;
# `quiet_one_thread`, `leads`, `model_dir`: shared by the lead-scoring tests.
pytest_plugins = ["postgres_server", "leads_fixtures"]


# CI (`.ci/run`) sets FORECASTING_REQUIRE_ALL=1: there a PostgreSQL, Dask, shared-data or browser
# test that would skip fails instead, so a green CI cannot hide tests that never ran.
REQUIRE_ALL = os.environ.get("FORECASTING_REQUIRE_ALL") == "1"


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_skip(report) -> None:
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        report.outcome = "failed"
        report.longrepr = f"skipped under FORECASTING_REQUIRE_ALL=1 (CI runs every test): {reason}"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist sends the report on and the terminal counts it
def pytest_collectreport(report):
    _fail_skip(report)  # module-level skips (importorskip) happen while collecting


def pytest_sessionstart(session):
    # Under pytest-xdist (`make test` runs `-n 2`) the demo CRM is made once, here in the
    # controller before the workers start, so two workers (or a worker and a notebook kernel)
    # never both generate it on first use.
    config = session.config
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        from forecasting.data.embedded import ensure_demo

        ensure_demo()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result())
