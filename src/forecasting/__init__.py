"""Revenue forecasting & lead-scoring workbench."""

__version__ = "0.1.0"
