"""Test settings shared by every test module."""

import os

# Figures render off-screen; no display on CI.
os.environ.setdefault("MPLBACKEND", "Agg")
