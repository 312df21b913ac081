"""Test settings shared by every test module."""

import os

# Figures render off-screen; no display on CI.
os.environ.setdefault("MPLBACKEND", "Agg")

# `postgres_url`: a throw-away PostgreSQL server for the tests that read PostgreSQL sources;
# `quiet_one_thread`, `leads`, `model_dir`: shared by the lead-scoring tests.
pytest_plugins = ["postgres_server", "leads_fixtures"]
