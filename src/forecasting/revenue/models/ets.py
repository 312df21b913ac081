"""Exponential smoothing (ETS) chosen by AICc over the stable state-space forms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data.errors import DataError, problem
from forecasting.revenue.models.base import Forecaster, _quiet

__all__ = ["ETS"]

# forecast::ets refuses seasonal ETS beyond 24 periods: too many initial states to estimate.
_MAX_ETS_SEASON = 24


def _ets_forms(spec: str, damped, positive: bool, seasonal_ok: bool) -> list[tuple[str, str, bool, str]]:
    """Candidate (error, trend, damped, season) forms for an ETS spec like ``"ZZZ"``.

    The automatic search covers the stable forms of Hyndman et al. (2008):
    additive error with additive or no season; multiplicative error (positive
    data only) with multiplicative or no season; no trend or a trend that is
    undamped or damped (``damped=None``, the default), only damped (True) or
    only undamped (False). By default that is 12 forms for positive seasonal
    data and 3 for non-seasonal data with zeros or negatives. Both trend forms
    are kept because statsmodels' optimiser sometimes stalls on the damped
    form where the undamped one (its phi = 1 special case) fits well.
    """
    spec = spec.upper()
    if len(spec) != 3 or any(c not in "ANMZ" for c in spec) or spec[0] == "N" or spec[1] == "M":
        raise ValueError(f"ETS model must be 3 letters: error A/M/Z, trend N/A/Z, season N/A/M/Z; found {spec!r}")
    err, trend, season = spec
    if "M" in (err, season) and not positive:
        raise DataError([problem("revenue", "amount", f"ETS {spec}: multiplicative forms need "
                                 "strictly positive values")])
    errors = [err] if err != "Z" else (["A", "M"] if positive else ["A"])
    trends = [trend] if trend != "Z" else ["N", "A"]
    forms = []
    for e in errors:
        seasons = [season] if season != "Z" else ["N", e] if seasonal_ok else ["N"]
        for t in trends:
            damps = [False] if t == "N" else ([False, True] if damped is None else [bool(damped)])
            for s in seasons:
                if s != "N" and not seasonal_ok:
                    continue
                if err == "Z" and e == "A" and s == "M":
                    continue  # unstable: infinite forecast variance
                forms.extend((e, t, d, s) for d in damps)
    return forms


def _form_name(form) -> str:
    e, t, d, s = form
    return f"{e}{t}{'d' if d else ''}{s}"


class ETS(Forecaster):
    """Exponential smoothing state-space model (statsmodels ``ETSModel``), chosen by AICc.

    Parameters
    ----------
    season_length : int, optional
        Inferred from the index frequency when None.
    model : str, default "ZZZ"
        Error, trend and season letters: ``A`` additive, ``M`` multiplicative,
        ``N`` none, ``Z`` choose automatically (see :func:`_ets_forms`).
        Multiplicative forms are only considered for strictly positive data.
    damped : bool or None, default None
        Trended forms are damped (True), undamped (False) or both are tried (None).
    seed : int, default 0
        Seed of the simulation that gives intervals for multiplicative forms.

    Attributes
    ----------
    form_ : str
        Chosen form, e.g. ``"MAdM"``.
    aicc_ : float
    result_ : statsmodels ETSResults
    """

    _statsmodels = True

    def __init__(self, *, season_length: int | None = None, model: str = "ZZZ",
                 damped: bool | None = None, seed: int = 0):
        self.season_length = season_length
        self.model = model
        self.damped = damped
        self.seed = seed

    def _min_length(self, m):
        return 3

    def _fit(self, y):
        from statsmodels.tools.eval_measures import aicc
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        m = self.season_length_
        seasonal_ok = 1 < m <= _MAX_ETS_SEASON and len(y) >= 2 * m + 2
        forms = _ets_forms(self.model, self.damped, bool(y.min() > 0), seasonal_ok)
        # A pd.Series, not an array: get_prediction fails on arrays in statsmodels 0.15.
        endog = pd.Series(y)
        best = None
        for form in forms:
            e, t, d, s = form
            n_params = 1 + (t != "N") * (2 + d) + (s != "N") * m + 2  # smoothing + initial states
            if len(y) <= n_params + 1:
                continue  # AICc is undefined
            try:
                with _quiet():
                    model = ETSModel(
                        endog, error="add" if e == "A" else "mul",
                        trend=None if t == "N" else "add", damped_trend=d,
                        seasonal=None if s == "N" else ("add" if s == "A" else "mul"),
                        seasonal_periods=m if s != "N" else None,
                    )
                    # Parameters only: the results object (states, a numerical Hessian) is built for
                    # the winner alone, which saves ~14 % of the search. AICc as statsmodels computes it.
                    params = model.fit(disp=False, return_params=True)
                    score = aicc(model.loglike(params), len(y), model.k_params + 1)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(score) and (best is None or score < best[0]):
                best = (score, form, model, params)
        if best is None:
            raise DataError([problem("revenue", "amount", f"ETS: no form could be fitted to "
                                     f"{len(y)} observations")])
        self.aicc_, form, model, params = best
        with _quiet():
            self.result_ = model.smooth(params)
        self.form_ = _form_name(form)

    def _chosen(self):
        form = self.form_
        return ETS(season_length=self.season_length_, model=form[0] + form[1] + form[-1], damped="d" in form,
                   seed=self.seed)

    def _predict(self, h, levels):
        n = len(self.y_)
        with _quiet():
            pred = self.result_.get_prediction(
                start=n, end=n + h - 1, simulate_repetitions=1000,
                rng=np.random.default_rng(self.seed))
        mean = np.asarray(pred.predicted_mean, dtype=float)
        bounds = {}
        for lv in levels:
            pi = np.asarray(pred.pred_int(alpha=1 - lv / 100), dtype=float)
            bounds[lv] = (pi[:, 0], pi[:, 1])
        return mean, bounds

