"""Forecasters by name: :data:`MODELS` and :func:`make_model`."""

from __future__ import annotations

from sklearn.base import clone

from forecasting.revenue.models.arima import ARIMA
from forecasting.revenue.models.base import Forecaster
from forecasting.revenue.models.baselines import Drift, Naive, SeasonalNaive
from forecasting.revenue.models.ets import ETS
from forecasting.revenue.models.theta import Theta

__all__ = ["MODELS", "make_model"]

#: Model names of the API and the CLI (``--model``). :mod:`~forecasting.revenue.models.ensemble`
#: adds ``"ensemble"``, which is built from these.
MODELS: dict[str, type[Forecaster]] = {
    "naive": Naive,
    "seasonal_naive": SeasonalNaive,
    "snaive": SeasonalNaive,
    "drift": Drift,
    "ets": ETS,
    "arima": ARIMA,
    "theta": Theta,
}


def make_model(model, *, season_length: int | None = None, seed: int | None = None,
               horizon: int | None = None) -> Forecaster:
    """A fresh, unfitted forecaster from a name or a template instance.

    Parameters
    ----------
    model : str or Forecaster
        A key of :data:`MODELS` (case-insensitive, e.g. ``"ets"``, ``"SeasonalNaive"``)
        or an instance, cloned with ``sklearn.base.clone``.
    season_length : int, optional
        Used when the model's own ``season_length`` is None.
    seed : int, optional
        Used when the model has a ``seed`` parameter and a name was given.
    horizon : int, optional
        Used when the model has a ``horizon`` parameter (the :class:`Ensemble`'s
        conformal horizon) that is None.

    Examples
    --------
    >>> make_model("ETS", season_length=12)
    ETS(season_length=12)
    >>> make_model("ensemble", horizon=6).horizon
    6
    """
    if isinstance(model, Forecaster):
        model = clone(model)
    else:
        key = str(model).lower().replace("-", "_")
        key = {"seasonalnaive": "seasonal_naive"}.get(key, key)
        if key not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose from {sorted(MODELS)}")
        model = MODELS[key]()
        if seed is not None and "seed" in model.get_params():
            model.set_params(seed=seed)
    params = model.get_params()
    if params.get("season_length") is None and season_length:
        model.set_params(season_length=int(season_length))
    if "horizon" in params and params["horizon"] is None and horizon:
        model.set_params(horizon=int(horizon))
    return model
