"""Lead scoring: features, candidate models, comparison, decisions, model store, batch scoring.

>>> from forecasting.leads import compare_models, train_model, load_model   # doctest: +SKIP
>>> result = compare_models(leads, target="converted", cv="time", folds=5, seed=0)  # doctest: +SKIP
>>> result.leaderboard                                                     # doctest: +SKIP
>>> model = train_model(leads, result.best); model.save("models/best")     # doctest: +SKIP
>>> load_model("models/best").score(new_leads)                             # doctest: +SKIP

The names below are the public API; the building blocks (calibration, drift, the
scorecards, reason codes, column typing) are imported from their modules, e.g.
``from forecasting.leads.calibration import Calibrated``.
"""

from .candidates import CANDIDATES
from .compare import Comparison, compare_models, young_leads
from .decisions import Threshold, assign_grades, choose_threshold, grade_cuts, grade_table, leads_per_week
from .features import LeadFeatures, add_response_time
from .model import LeadModel, load_model, save_model, train_model
from .screening import FeatureSet, screen_features
from .scoring import score_source
from .store import ModelError

__all__ = [
    "CANDIDATES", "Comparison", "FeatureSet", "LeadFeatures", "LeadModel", "ModelError", "Threshold",
    "add_response_time", "assign_grades", "choose_threshold", "compare_models", "grade_cuts", "grade_table",
    "leads_per_week", "load_model", "save_model", "score_source", "screen_features", "train_model",
    "young_leads",
]
