"""The shape of the lead-scoring package: its public names, one definition per concept, no cycles."""

import ast
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import forecasting.leads as leads_pkg
from forecasting.leads import add_response_time
from forecasting.metrics import lead_response_times

PACKAGE = Path(leads_pkg.__file__).parent


def test_response_time_worked_example_ignores_touches_before_creation():
    # Created 09:00, touched 08:00 (before it existed: no response) and 09:30: 30 minutes.
    leads = pd.DataFrame({"lead_id": ["a", "b"],
                          "created_at": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 10:00"])})
    acts = pd.DataFrame({"lead_id": ["a", "a", "zzz"],
                         "occurred_at": pd.to_datetime(["2025-01-01 08:00", "2025-01-01 09:30",
                                                        "2025-01-01 09:45"])})
    out = add_response_time(leads, acts, column="first_touch")
    assert out["first_touch"].iloc[0] == 30.0
    assert np.isnan(out["first_touch"].iloc[1])  # never touched
    assert list(out.columns) == ["lead_id", "created_at", "first_touch"] and "first_touch" not in leads


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(-120, 600)), max_size=25))
def test_response_time_feature_is_the_sales_kpi(touches):
    """One definition: the feature equals forecasting.metrics.lead_response_times, lead by lead."""
    created = pd.Timestamp("2025-03-01 09:00")
    leads = pd.DataFrame({"lead_id": [f"L{i}" for i in range(5)],
                          "created_at": created + pd.to_timedelta(np.arange(5) * 30, unit="min")})
    acts = pd.DataFrame({"lead_id": [f"L{i}" for i, _ in touches],
                         "occurred_at": pd.to_datetime([created + pd.Timedelta(minutes=m) for _, m in touches])})
    ours = add_response_time(leads, acts)["response_minutes"].to_numpy()
    kpi = lead_response_times(leads, acts).to_numpy()
    np.testing.assert_array_equal(ours, kpi)
    assert np.all(np.isnan(ours) | (ours >= 0))


def test_public_names_are_few_and_all_resolve():
    assert len(leads_pkg.__all__) <= 25
    for name in leads_pkg.__all__:
        assert getattr(leads_pkg, name) is not None
    # Internals are imported from their modules, not from the package.
    for internal in ("crossfit_calibrate", "iter_chunks", "psi", "make_candidate", "coerce"):
        assert internal not in leads_pkg.__all__


def test_old_import_paths_keep_working():
    from forecasting.leads.features import FeatureSet, coerce, infer_types, screen_features, split_names
    from forecasting.leads.model import SCHEMA_VERSION, LeadModel
    from forecasting.leads.scoring import iter_chunks, source_columns
    from forecasting.leads.screening import FeatureSet as Screened
    from forecasting.leads.store import SCHEMA_VERSION as STORED

    assert FeatureSet is Screened and SCHEMA_VERSION == STORED and callable(LeadModel.load)
    assert all(map(callable, (coerce, infer_types, screen_features, split_names, iter_chunks, source_columns)))


def _leads_imports(path: Path) -> set[str]:
    """Sibling modules a module imports (at the top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycles_between_lead_modules():
    graph = {p.stem: _leads_imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}

    def reaches(start, target, seen=()):
        return any(n == target or (n not in seen and reaches(n, target, (*seen, n)))
                   for n in graph.get(start, ()))

    cycles = sorted(m for m in graph if reaches(m, m))
    assert not cycles, f"modules on an import cycle: {cycles}"
    assert "model" not in graph["store"]  # the store serialises; the model calls it


def test_modules_are_at_most_600_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= 600, sizes


@pytest.mark.parametrize("module", sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"))
def test_public_functions_take_no_private_arguments(module):
    import importlib

    mod = importlib.import_module(f"forecasting.leads.{module}")
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        targets = [obj] if inspect.isfunction(obj) else \
            [m for n, m in vars(obj).items() if inspect.isfunction(m) and not n.startswith("_")] \
            if inspect.isclass(obj) else []
        for fn in targets:
            private = [p for p in inspect.signature(fn).parameters if p.startswith("_")]
            assert not private, f"{module}.{fn.__qualname__} takes private arguments {private}"
