"""Lead scoring: features, candidate models, comparison, decisions, model store, batch scoring.

>>> from forecasting.leads import compare_models, train_model, load_model   # doctest: +SKIP
>>> result = compare_models(leads, target="converted", cv="time", folds=5, seed=0)  # doctest: +SKIP
>>> result.leaderboard                                                     # doctest: +SKIP
>>> model = train_model(leads, result.best); model.save("models/best")     # doctest: +SKIP
>>> load_model("models/best").score(new_leads)                             # doctest: +SKIP
"""

from .calibration import Calibrated, choose_calibration, crossfit_calibrate
from .candidates import CANDIDATES, candidate_models, make_candidate
from .compare import LEADERBOARD_COLUMNS, Comparison, compare_models, cv_folds, young_leads
from .decisions import (Threshold, assign_grades, choose_threshold, feature_effects, format_reasons, grade_cuts,
                        grade_table, leads_per_week, reason_codes)
from .drift import DriftCounter, drift_reference, psi, psi_band
from .features import FeatureSet, LeadFeatures, add_response_time, infer_types, screen_features, split_names
from .model import LeadModel, train_model
from .scorecard import RuleScorecard, learned_scorecard, load_rules, points_table
from .scoring import iter_chunks, score_source
from .store import ModelError, load_model, save_model

__all__ = [
    "CANDIDATES", "LEADERBOARD_COLUMNS",
    "Calibrated", "Comparison", "DriftCounter", "FeatureSet", "LeadFeatures", "LeadModel",
    "ModelError", "RuleScorecard", "Threshold",
    "add_response_time", "assign_grades", "candidate_models", "choose_calibration", "choose_threshold",
    "compare_models", "crossfit_calibrate", "cv_folds", "drift_reference", "feature_effects", "format_reasons",
    "grade_cuts", "grade_table", "infer_types", "iter_chunks", "leads_per_week", "learned_scorecard",
    "load_model", "load_rules", "make_candidate", "points_table", "psi", "psi_band", "reason_codes",
    "save_model", "score_source", "screen_features", "split_names", "train_model", "young_leads",
]
