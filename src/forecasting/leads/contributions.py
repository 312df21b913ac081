"""Per-feature contributions of tree ensembles: exact, vectorised over leads (path contributions).

A tree predicts the value of the leaf a lead reaches. Give every node its *expected value*,
the training-weighted mean of the leaf values below it. Walking from the root to the lead's
leaf, each split moves the expected value from the parent's to the child's; the move is
credited to the feature the split is on. So, for every lead and every tree,
``leaf value = expected value at the root + sum over features of their credits`` exactly
(Saabas' path contributions), and an ensemble's contributions are the sum (boosting, in
log-odds) or the mean (forest, in probability) of its trees'. A contribution says how far
a feature moved this lead's prediction away from the prediction of an average training lead,
along the splits this lead actually went through.

Only the leaf each lead reaches is needed: one pass of scikit-learn's compiled traversal per
tree (as in ``predict_proba``) and one table lookup per tree and feature it splits on.

- :func:`tree_contributions`: prediction, bias and contributions of a fitted
  ``HistGradientBoostingClassifier`` or ``RandomForestClassifier`` (binary), or None when
  the fitted structure is not the one this module knows (the caller falls back to one
  prediction per feature).
- :func:`probability_contributions`: the same in probability units; they add up to
  ``p(lead) - p(average training lead)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["TreeEnsemble", "path_tables", "tree_contributions", "probability_contributions"]

# Contributions are checked against the model's own prediction on this many rows of each call;
# a mismatch means the private structure changed and the caller falls back.
_CHECK_ROWS = 64
_TOLERANCE = 1e-8
# Trees whose leaf combinations number at most this share one lookup table (see _summed_credits).
_COMBINED_LEAVES = 4096


@dataclass(frozen=True)
class TreeEnsemble:
    """The trees of a fitted ensemble as flat node arrays (tree ``t`` starts at ``offsets[t]``).

    Attributes
    ----------
    left, right : ndarray of int
        Children of each node, as positions in the flat arrays (unused at leaves).
    feature : ndarray of int
        Input column each internal node splits on; -1 at leaves.
    value : ndarray of float
        Leaf values (what a tree predicts for a lead reaching the leaf).
    weight : ndarray of float
        Training samples (or their weight) in each node.
    offsets : ndarray of int
        First node of each tree.
    init : float
        Constant added to the trees' total (the boosting baseline).
    divisor : float
        Divides the trees' total (1 for boosting, ``n_trees`` for a forest's mean).
    leaves : callable
        ``leaves(X) -> (n_trees, n_rows)`` node of each tree each row reaches (tree-local).
    n_features : int
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    value: np.ndarray
    weight: np.ndarray
    offsets: np.ndarray
    init: float
    divisor: float
    leaves: Callable
    n_features: int


def path_tables(trees: TreeEnsemble) -> tuple[np.ndarray, np.ndarray]:
    """Expected value of every node and its path contributions per feature.

    Returns
    -------
    expected : ndarray of shape (n_nodes,)
        Weighted mean of the leaf values below each node (the leaf's value at a leaf).
    table : ndarray of shape (n_nodes, n_features)
        ``table[node, f]``: sum over the splits on ``f`` from the root to ``node`` of
        ``expected[child] - expected[parent]``; so ``expected[root] + table[leaf].sum()``
        is the leaf's value.

    Examples
    --------
    A stump on feature 0 (leaves 0.2 with 3 samples, 0.6 with 1): the root expects 0.3.

    >>> stump = TreeEnsemble(left=np.array([1, 0, 0]), right=np.array([2, 0, 0]),
    ...                      feature=np.array([0, -1, -1]), value=np.array([0.0, 0.2, 0.6]),
    ...                      weight=np.array([4.0, 3.0, 1.0]), offsets=np.array([0]), init=0.0,
    ...                      divisor=1, leaves=None, n_features=2)
    >>> expected, table = path_tables(stump)
    >>> expected.round(3).tolist(), table.round(3).tolist()
    ([0.3, 0.2, 0.6], [[0.0, 0.0], [-0.1, 0.0], [0.3, 0.0]])
    """
    levels, frontier = [], trees.offsets.astype(np.int64)
    while len(frontier):  # top-down, all trees at once: one numpy step per depth
        inner = frontier[trees.feature[frontier] >= 0]
        levels.append(inner)
        frontier = np.concatenate([trees.left[inner], trees.right[inner]])
    expected = trees.value.astype(float).copy()
    for inner in reversed(levels):  # bottom-up: children before parents
        left, right = trees.left[inner], trees.right[inner]
        wl, wr = trees.weight[left], trees.weight[right]
        total = wl + wr
        mean = (expected[left] + expected[right]) / 2  # no weight below: the plain mean
        expected[inner] = np.where(total > 0, (wl * expected[left] + wr * expected[right])
                                   / np.where(total > 0, total, 1.0), mean)
    table = np.zeros((len(expected), trees.n_features))
    for inner in levels:
        for child in (trees.left[inner], trees.right[inner]):
            table[child] = table[inner]
            table[child, trees.feature[inner]] += expected[child] - expected[inner]
    return expected, table


def _contributions(trees: TreeEnsemble, X) -> tuple[np.ndarray, float, np.ndarray]:
    """``(prediction, bias, contributions (n_features, n_rows))`` with
    ``prediction == bias + contributions.sum(axis=0)`` up to rounding."""
    expected, table = path_tables(trees)
    nodes = trees.leaves(X).astype(np.int64) + trees.offsets[:, None]  # (n_trees, n_rows), flat
    # Tree by tree, as scikit-learn adds them: the same float sums.
    prediction = np.full(nodes.shape[1], trees.init) if trees.divisor == 1 else np.zeros(nodes.shape[1])
    for row in nodes:
        prediction += trees.value[row]
    contributions = _summed_credits(trees, table, nodes)
    if trees.divisor != 1:
        prediction, contributions = trees.init + prediction / trees.divisor, contributions / trees.divisor
    bias = trees.init + expected[trees.offsets].sum() / trees.divisor
    return prediction, float(bias), np.ascontiguousarray(contributions.T)


def _summed_credits(trees: TreeEnsemble, table: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """``sum over trees of table[node each row reaches]``, shape (n_rows, n_features).

    Consecutive small trees are looked up together, in a table of their summed credits
    for every combination of their leaves (boosted trees of 15 leaves go by three): a third
    of the lookups, from a table small enough to stay in cache.
    """
    leaf = trees.feature < 0
    ends = np.append(trees.offsets, len(leaf))
    leaves = [np.flatnonzero(leaf[a:b]) + a for a, b in zip(ends[:-1], ends[1:])]
    position = np.zeros(len(leaf), dtype=np.int64)  # of a leaf among its tree's leaves
    for at in leaves:
        position[at] = np.arange(len(at))
    total = np.zeros((nodes.shape[1], table.shape[1]))
    for group in _groups([len(at) for at in leaves]):
        if len(group) == 1:  # a large tree (a forest's): its own rows
            total += table[nodes[group[0]]]
            continue
        combined, index = np.zeros((1, table.shape[1])), np.zeros(nodes.shape[1], dtype=np.int64)
        for t in group:
            combined = (combined[:, None, :] + table[leaves[t]][None, :, :]).reshape(-1, table.shape[1])
            index = index * len(leaves[t]) + position[nodes[t]]
        total += combined[index]
    return total


def _groups(sizes, most: int = _COMBINED_LEAVES) -> list[list[int]]:
    """Consecutive trees in groups whose leaf counts multiply to at most ``most`` (or one tree).

    >>> _groups([15, 15, 15, 15, 300], most=4096)
    [[0, 1, 2], [3], [4]]
    """
    groups, product = [], most + 1
    for t, size in enumerate(sizes):
        if product * size > most:
            groups.append([])
            product = 1
        groups[-1].append(t)
        product *= size
    return groups


def _hist_gb_trees(model) -> TreeEnsemble | None:
    """A fitted binary ``HistGradientBoostingClassifier``'s trees, read from its private
    predictors (``_predictors[i][0].nodes``); None if they are not what this reads."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    predictors = getattr(model, "_predictors", None)
    baseline = np.ravel(getattr(model, "_baseline_prediction", []))
    needed = {"value", "count", "feature_idx", "left", "right", "is_leaf"}
    if (not predictors or len(baseline) != 1 or getattr(model, "n_trees_per_iteration_", 0) != 1
            or not hasattr(model, "_bin_mapper") or not hasattr(model, "_preprocess_X")
            or any(len(p) != 1 or not isinstance(p[0], TreePredictor)
                   or not needed <= set(p[0].nodes.dtype.names or ()) for p in predictors)):
        return None
    columns = _input_columns(model)
    if columns is None:
        return None
    trees = [p[0] for p in predictors]
    nodes = [t.nodes for t in trees]
    offsets = np.cumsum([0] + [len(n) for n in nodes[:-1]]).astype(np.int64)
    flat = np.concatenate(nodes)
    shift = np.repeat(offsets, [len(n) for n in nodes])
    leaf = flat["is_leaf"].astype(bool)
    # Each tree again, predicting the number of the node a row reaches instead of its value.
    numbered = []
    for tree in trees:
        copy = tree.nodes.copy()
        copy["value"] = np.arange(len(copy), dtype=float)
        numbered.append(TreePredictor(copy, tree.binned_left_cat_bitsets, tree.raw_left_cat_bitsets))

    def leaves(X):
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        known, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
        X = model._preprocess_X(X, reset=False)
        threads = _openmp_effective_n_threads()  # as many as the model's own predict uses
        return np.stack([t.predict(X, known, f_idx_map, threads) for t in numbered])

    return TreeEnsemble(left=np.where(leaf, 0, flat["left"].astype(np.int64) + shift),
                        right=np.where(leaf, 0, flat["right"].astype(np.int64) + shift),
                        feature=np.where(leaf, -1, columns[np.where(leaf, 0, flat["feature_idx"])]),
                        value=flat["value"].astype(float), weight=flat["count"].astype(float),
                        offsets=offsets, init=float(baseline[0]), divisor=1, leaves=leaves,
                        n_features=int(model.n_features_in_))


def _input_columns(model) -> np.ndarray | None:
    """Input column of each column the trees split on: the model's encoder puts its
    categorical columns first."""
    n = int(model.n_features_in_)
    encoder = getattr(model, "_preprocessor", None)
    if encoder is None:
        return np.arange(n)
    columns = np.full(n, -1)
    for name, _, chosen in encoder.transformers_:
        out = encoder.output_indices_.get(name, slice(0, 0))
        chosen = np.arange(n)[chosen] if len(np.atleast_1d(chosen)) else np.arange(0)
        if out.stop - out.start != len(chosen):
            return None
        columns[out] = chosen
    return columns if sorted(columns) == list(range(n)) else None


def _forest_trees(model) -> TreeEnsemble | None:
    """A fitted binary ``RandomForestClassifier``'s trees (public ``tree_`` arrays)."""
    estimators = getattr(model, "estimators_", None)
    if not estimators or getattr(model, "n_outputs_", 0) != 1 or len(getattr(model, "classes_", [])) != 2:
        return None
    structures = [e.tree_ for e in estimators]
    offsets = np.cumsum([0] + [t.node_count for t in structures[:-1]]).astype(np.int64)
    shift = np.repeat(offsets, [t.node_count for t in structures])
    flat = {name: np.concatenate([getattr(t, name) for t in structures])
            for name in ("children_left", "children_right", "feature", "weighted_n_node_samples")}
    values = np.concatenate([t.value[:, 0, :] for t in structures])
    # As the trees' predict_proba: class counts (or fractions) normalised to sum to one.
    total = values.sum(axis=1)
    leaf = flat["children_left"] < 0
    return TreeEnsemble(left=np.where(leaf, 0, flat["children_left"] + shift),
                        right=np.where(leaf, 0, flat["children_right"] + shift),
                        feature=np.where(leaf, -1, flat["feature"]).astype(np.int64),
                        value=values[:, 1] / np.where(total == 0, 1.0, total),
                        weight=flat["weighted_n_node_samples"].astype(float), offsets=offsets, init=0.0,
                        divisor=len(structures), leaves=lambda X: model.apply(X).T,
                        n_features=int(model.n_features_in_))


def tree_contributions(model, X) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Exact per-feature contributions of a fitted binary tree ensemble.

    Parameters
    ----------
    model : HistGradientBoostingClassifier or RandomForestClassifier
        Fitted, two classes.
    X : array-like or DataFrame
        Rows as the model takes them.

    Returns
    -------
    (prediction, bias, contributions) or None
        ``prediction``: the model's log-odds (``decision_function``) for gradient boosting,
        its probability of the second class for a forest; ``bias``: the prediction of an
        average training lead (the trees' root expectations); ``contributions`` of shape
        ``(n_features, n_rows)``, with ``prediction == bias + contributions.sum(axis=0)``.
        None for another model, or if the prediction rebuilt from the trees differs from
        the model's own on the first rows (a structure this module does not read right).

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] > 0).astype(int)
    >>> forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    >>> p, bias, c = tree_contributions(forest, X[:4])
    >>> bool(np.allclose(p, bias + c.sum(axis=0))), bool(np.allclose(p, forest.predict_proba(X[:4])[:, 1]))
    (True, True)
    >>> int(np.abs(c).sum(axis=1).argmax())  # feature 0 decides
    0
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    if isinstance(model, HistGradientBoostingClassifier):
        trees, own = _hist_gb_trees(model), model.decision_function
    elif isinstance(model, RandomForestClassifier):
        trees, own = _forest_trees(model), lambda rows: model.predict_proba(rows)[:, 1]
    else:
        return None
    if trees is None:
        return None
    prediction, bias, contributions = _contributions(trees, X)
    head = X.iloc[:_CHECK_ROWS] if hasattr(X, "iloc") else X[:_CHECK_ROWS]
    if not (np.abs(prediction[:_CHECK_ROWS] - np.ravel(own(head))) <= _TOLERANCE).all():
        return None
    return prediction, bias, contributions


def probability_contributions(model, X) -> tuple[np.ndarray, np.ndarray] | None:
    """Probabilities of a tree ensemble and each feature's contribution to them.

    A forest's contributions are already in probability. Gradient boosting adds up
    log-odds; its contributions are scaled by the slope of the logistic link between the
    average training lead and this lead (``(p - p0) / (logit - logit0)``), so that each keeps
    its share of the log-odds and together they add up to ``p - p0`` exactly.

    Returns
    -------
    (p, contributions) or None
        ``p`` of shape (n_rows,) equals ``model.predict_proba(X)[:, 1]``; ``contributions``
        of shape (n_features, n_rows) sum to ``p - p0``. None where :func:`tree_contributions` is.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = (X[:, 1] + rng.normal(size=300) > 0).astype(int)
    >>> model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> p, c = probability_contributions(model, X[:5])
    >>> bool(np.allclose(p, model.predict_proba(X[:5])[:, 1]))
    True
    >>> p0 = probability_contributions(model, X[:1])[0][0] - probability_contributions(model, X[:1])[1][:, 0].sum()
    >>> bool(np.allclose(p - c.sum(axis=0), p0))  # every lead: the same average-lead probability
    True
    """
    from scipy.special import expit
    from sklearn.ensemble import HistGradientBoostingClassifier

    found = tree_contributions(model, X)
    if found is None:
        return None
    prediction, bias, contributions = found
    if not isinstance(model, HistGradientBoostingClassifier):
        return prediction, contributions
    p, step = expit(prediction), prediction - bias
    moved = np.abs(step) > 1e-9  # else the lead is the average lead: the link's own slope
    slope = np.where(moved, (p - expit(bias)) / np.where(moved, step, 1.0), p * (1 - p))
    return p, contributions * slope
