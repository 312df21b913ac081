"""The model store: ``models/<name>/`` = ``model.skops`` + ``card.json``.

The store knows nothing of :class:`~forecasting.leads.model.LeadModel`: it writes
and reads an (estimator, card) pair, for ``LeadModel.save`` / ``LeadModel.load``
(:func:`~forecasting.leads.model.save_model` / ``load_model``). Models are saved
with skops, never with pickle (loading a pickle runs whatever code it contains). Loading refuses a folder holding pickle files, an artifact
with types outside :data:`TRUSTED_TYPES` (checked with
``skops.io.get_untrusted_types`` before anything is built), and a card of
another schema version. Folders are written to a temporary sibling and renamed,
so a reader never sees half a model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..data.errors import DataError, Problem
from ..data.io import atomic_dir

__all__ = ["ModelError", "SCHEMA_VERSION", "TRUSTED_TYPES", "ARTIFACT", "CARD", "write_model", "read_model",
           "read_card"]

# Version of card.json; a card of another version is refused on load.
SCHEMA_VERSION = 1

ARTIFACT = "model.skops"
CARD = "card.json"
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pck", ".dill")

# Types beyond skops' defaults that our candidates contain (measured with
# skops.io.get_untrusted_types on every candidate). Anything else is refused.
TRUSTED_TYPES = (
    "forecasting.leads.calibration.Calibrated",
    "forecasting.leads.features.LeadFeatures",
    "forecasting.leads.scorecard.RuleScorecard",
    "functools.partial",
    "scipy._lib.array_api_compat.numpy._aliases.asarray",
    "scipy.interpolate._bsplines.BSpline",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",  # the blend's named_estimators_ (a dict)
    "sklearn.utils.validation.check_array",
)


class ModelError(DataError):
    """A saved model that cannot be used safely: the CLI exits 2 with this message."""

    def __init__(self, message: str, path: str | os.PathLike = "model"):
        super().__init__([Problem("model", None, f"{path}: {message}")])


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def write_model(estimator, card: dict, path: str | os.PathLike) -> dict:
    """Write ``model.skops`` and ``card.json`` to ``path`` atomically (replacing it).

    Parameters
    ----------
    estimator : fitted classifier
    card : dict
        JSON-ready facts about the model (see :class:`~forecasting.leads.model.LeadModel`).
    path : path
        Folder, e.g. ``models/logistic``.

    Returns
    -------
    dict
        The card as written (with ``artifact`` and ``trusted_types`` added).
    """
    import skops.io as sio

    path = Path(path)
    with atomic_dir(path) as tmp:  # a failure leaves the old model in place
        sio.dump(estimator, tmp / ARTIFACT)
        card = dict(card, artifact=ARTIFACT, trusted_types=sorted(sio.get_untrusted_types(file=tmp / ARTIFACT)))
        (tmp / CARD).write_text(json.dumps(card, indent=2, default=_json_default) + "\n", encoding="utf-8")
    return card


def read_card(path: str | os.PathLike) -> dict:
    """Read and check ``card.json`` of a model folder.

    Raises
    ------
    ModelError
        No card, unreadable JSON, or another schema version.
    """
    folder = Path(path)
    card_path = folder / CARD
    if not card_path.is_file():
        raise ModelError(f"no {CARD} (is this a model folder made by `forecasting leads train`?)", folder)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {CARD}: {exc}", folder) from None
    version = card.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ModelError(f"card schema version {version!r} is not supported (this version of "
                         f"forecasting reads schema {SCHEMA_VERSION}); retrain the model", folder)
    return card


def read_model(path: str | os.PathLike) -> tuple[object, dict]:
    """Read a saved model's estimator and card safely.

    Raises
    ------
    ModelError
        A pickle file in the folder, an incompatible card, a missing artifact, or
        types in the artifact outside :data:`TRUSTED_TYPES`.

    Returns
    -------
    estimator : fitted classifier
    card : dict
    """
    import skops.io as sio

    folder = Path(path)
    if not folder.is_dir():
        raise ModelError("model folder not found", folder)
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in _PICKLE_SUFFIXES)
    if pickles:
        raise ModelError(f"refusing a folder holding pickle files ({', '.join(pickles)}): loading a "
                         "pickle runs arbitrary code; models are saved with skops", folder)
    card = read_card(folder)
    artifact = folder / card.get("artifact", ARTIFACT)
    if not artifact.is_file() or artifact.parent.resolve() != folder.resolve():
        raise ModelError(f"artifact {artifact.name} is missing", folder)
    try:
        found = sio.get_untrusted_types(file=artifact)
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file
        raise ModelError(f"{artifact.name} is not a readable skops file: {exc}", folder) from None
    untrusted = sorted(set(found) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelError("refusing to load untrusted types: " + ", ".join(untrusted), folder)
    estimator = sio.load(artifact, trusted=list(found))
    return estimator, card
