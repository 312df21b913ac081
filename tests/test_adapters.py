"""Public-dataset adapters: known answers from each PROVENANCE.md, canonical types, file errors.

Tests on the real datasets skip when the shared data folder is absent; the tests on
small files written here always run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.data import DataError
from forecasting.data import public as A


@pytest.fixture(scope="module")
def root():
    try:
        return A.shared_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"public datasets not available: {exc}")


@pytest.fixture(scope="module")
def xed(root):
    return A.x_education_leads(root=root)


@pytest.fixture(scope="module")
def bank(root):
    return A.bank_marketing(root=root)


@pytest.fixture(scope="module")
def bank_full(root):
    return A.bank_marketing("full", root=root)


@pytest.fixture(scope="module")
def olist(root):
    return A.olist_funnel(root=root)


@pytest.fixture(scope="module")
def maven(root):
    return A.maven_crm(root=root)


@pytest.fixture(scope="module")
def store(root):
    return A.superstore(root=root)


@pytest.fixture(scope="module")
def m3_all(root):
    return {kind: A.m3(kind, root=root) for kind in ("yearly", "quarterly", "monthly", "other")}


@pytest.fixture(scope="module")
def tourism_all(root):
    return {kind: A.tourism(kind, root=root) for kind in ("monthly", "quarterly")}


LEAD_ADAPTERS = ("xed", "bank", "bank_full", "olist")


def assert_ids_are_unique_strings(values: pd.Series):
    assert values.map(type).eq(str).all()
    assert values.is_unique


# --- leads ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", LEAD_ADAPTERS)
def test_lead_tables_are_canonical(name, request):
    data = request.getfixturevalue(name)
    leads = data["leads"]
    assert_ids_are_unique_strings(leads["lead_id"])
    assert pd.api.types.is_datetime64_dtype(leads["created_at"])
    assert leads["created_at"].notna().all()
    assert pd.api.types.is_integer_dtype(leads["converted"])
    assert set(leads["converted"].unique()) == {0, 1}
    assert data.target == "converted"
    assert set(data.leaky) <= set(leads.columns)
    assert not set(data.leaky) & set(data.features)
    assert data.notes


def test_x_education_has_9240_leads_and_3561_conversions(xed):
    leads = xed["leads"]
    assert len(leads) == 9240
    assert leads["converted"].sum() == 3561
    assert round(leads["converted"].mean(), 3) == 0.385


def test_x_education_marks_the_sales_assigned_columns_leaky(xed):
    assert set(xed.leaky) == {
        "tags", "lead_quality", "lead_profile", "last_activity", "last_notable_activity",
        "asymmetrique_activity_index", "asymmetrique_profile_index",
        "asymmetrique_activity_score", "asymmetrique_profile_score",
    }
    assert xed.columns["Tags"] == "tags"
    assert xed.columns["TotalVisits"] == "total_visits"
    assert xed.columns["Prospect ID"] == "lead_id"


def test_x_education_select_placeholder_becomes_missing(xed):
    leads = xed["leads"]
    text = leads.select_dtypes(exclude=["number", "bool", "datetime"])
    assert not text.eq("Select").any().any()
    # 1,942 "Select" + 1,438 blank (PROVENANCE value counts).
    assert leads["specialization"].isna().sum() == 1942 + 1438
    assert leads["do_not_email"].dtype == bool and leads["do_not_email"].sum() == 734


def test_x_education_created_at_follows_lead_number_within_one_year(xed, root):
    raw = pd.read_csv(root / "x_education_leads" / "Leads.csv", usecols=["Prospect ID", "Lead Number"])
    created = xed["leads"].set_index("lead_id")["created_at"]
    in_number_order = created.loc[raw.sort_values("Lead Number")["Prospect ID"]]
    assert in_number_order.is_monotonic_increasing and in_number_order.is_unique
    assert in_number_order.iloc[-1] - in_number_order.iloc[0] < pd.Timedelta(days=365)


def test_bank_additional_has_41188_contacts_and_4640_yes(bank):
    leads = bank["leads"]
    assert len(leads) == 41188
    assert leads["converted"].sum() == 4640
    assert bank.leaky == ("duration",)
    assert "emp_var_rate" in leads.columns


def test_bank_dates_are_in_file_order_and_match_month_and_weekday(bank):
    leads = bank["leads"]
    created = leads["created_at"]
    assert created.is_monotonic_increasing
    assert created.min() >= pd.Timestamp("2008-05-01") and created.max() <= pd.Timestamp("2010-11-30")
    assert (created.dt.strftime("%b").str.lower() == leads["month"]).all()
    assert (created.dt.strftime("%a").str.lower() == leads["day_of_week"]).all()


def test_bank_full_dates_use_the_day_of_month(bank_full):
    leads = bank_full["leads"]
    assert len(leads) == 45211 and leads["converted"].sum() == 5289
    assert (leads["created_at"].dt.day == leads["day"]).all()
    assert leads["created_at"].is_monotonic_increasing
    # First row: 5 May; last row: November of the third year.
    assert leads["created_at"].iloc[0] == pd.Timestamp("2008-05-05")
    assert leads["created_at"].iloc[-1].strftime("%Y-%m") == "2010-11"


def test_olist_labels_380_of_8000_leads_and_keeps_deal_columns_out(olist):
    leads = olist["leads"]
    assert len(leads) == 8000 and leads["converted"].sum() == 380
    assert (leads["converted_at"].notna() == leads["converted"].eq(1)).all()
    assert leads["source"].isna().sum() == 60
    deal_columns = set(olist["closed_deals"].columns) - {"lead_id"}
    assert not deal_columns & set(leads.columns)
    assert olist["closed_deals"]["lead_id"].isin(leads["lead_id"]).all()


# --- opportunities ----------------------------------------------------------------------


def test_maven_stage_counts_and_win_rate(maven):
    opps = maven["opportunities"]
    assert opps["status"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 2089}
    assert opps.loc[opps["status"] == "open", "stage"].value_counts().to_dict() == {
        "Engaging": 1589, "Prospecting": 500}
    closed = opps[opps["status"] != "open"]
    assert round((closed["status"] == "won").mean(), 3) == 0.632
    assert maven.stages.open == ("Prospecting", "Engaging")
    assert maven.stages.probability("Engaging") == 0.63
    assert set(opps["stage"]) <= set(maven.stages.all)


def test_maven_is_canonical_and_consistent(maven):
    opps = maven["opportunities"]
    assert_ids_are_unique_strings(opps["opportunity_id"])
    assert opps["amount"].dtype == float and (opps["amount"] > 0).all()
    assert opps[["created_at", "close_date", "owner", "account_id"]].notna().all().all()
    assert (opps["close_date"] >= opps["created_at"]).all()
    assert maven.as_of == pd.Timestamp("2017-12-31")
    open_ = opps[opps["status"] == "open"]
    assert (open_["close_date"] > maven.as_of).all()


def test_maven_fixes_product_and_sector_spellings(maven, root):
    opps = maven["opportunities"]
    assert "GTXPro" not in set(opps["product"]) and (opps["product"] == "GTX Pro").sum() == 1480
    assert "technolgy" not in set(opps["segment"]) and "technology" in set(opps["segment"])
    assert (opps["account_id"] == "unknown").sum() == 1425
    # Lost and open deals are valued at list price, won deals at close_value.
    raw = pd.read_csv(root / "maven_crm_pipeline" / "sales_pipeline.csv")
    assert opps.loc[opps["status"] == "won", "amount"].sum() == raw["close_value"].sum()
    not_won = opps["status"] != "won"
    assert (opps.loc[not_won, "amount"] == opps.loc[not_won, "list_price"]).all()


# --- revenue and forecasting benchmarks ---------------------------------------------------


def test_superstore_revenue_per_segment_adds_up_to_the_file_total(store):
    revenue, orders = store["revenue"], store["orders"]
    assert len(orders) == 9994 and orders["order_id"].nunique() == 5009
    assert round(revenue["amount"].sum(), 2) == 2297200.86
    per_segment = revenue.groupby("segment")["amount"].sum()
    np.testing.assert_allclose(per_segment, orders.groupby("segment")["sales"].sum())
    assert revenue.groupby("segment").size().to_dict() == {"Consumer": 48, "Corporate": 48, "Home Office": 48}
    assert (revenue["date"].dt.day == 1).all()
    assert round(orders["profit"].sum(), 2) == 286397.02
    assert store.freq == "MS" and store.season_length == 12


@pytest.mark.parametrize("kind, n_series, horizon, season", [
    ("yearly", 645, 6, 1), ("quarterly", 756, 8, 4), ("monthly", 1428, 18, 12), ("other", 174, 8, 1)])
def test_m3_series_counts_and_horizons(m3_all, kind, n_series, horizon, season):
    data = m3_all[kind]
    assert data.horizon == horizon and data.season_length == season
    assert data.train["series"].nunique() == n_series == len(data["series"])
    assert (data.test.groupby("series").size() == horizon).all()
    # The xls rows hold the full series: train + test = N values.
    sizes = data.train.groupby("series").size() + data.test.groupby("series").size()
    assert (sizes == data["series"].set_index("series")["n"]).all()


def test_m3_monthly_first_series_and_test_continuing_train(m3_all):
    data = m3_all["monthly"]
    first = data.train[data.train["series"] == "N1402"]
    assert first["date"].iloc[0] == pd.Timestamp("1990-01-01")
    assert first["amount"].iloc[:4].tolist() == [2640.0, 2640.0, 2160.0, 4200.0]
    last_train = data.train.groupby("series")["date"].max()
    first_test = data.test.groupby("series")["date"].min()
    assert (first_test == last_train + pd.offsets.MonthBegin(1)).all()
    assert (~data["series"]["dated"]).sum() == 29
    assert data["series"]["category"].value_counts()["MICRO"] == 474
    assert data.train["date"].dtype == "datetime64[ns]" and data.train["amount"].dtype == float


@pytest.mark.parametrize("kind, n_series, length, horizon, test_start", [
    ("monthly", 308, 262, 24, "2018-01-01"), ("quarterly", 304, 80, 8, "2016-01-01")])
def test_tourism_series_counts_and_split(tourism_all, kind, n_series, length, horizon, test_start):
    data = tourism_all[kind]
    assert data.horizon == horizon and len(data["series"]) == n_series
    assert (data["series"]["n"] == length).all()
    assert (data.test.groupby("series").size() == horizon).all()
    assert (data.test.groupby("series")["date"].min() == pd.Timestamp(test_start)).all()
    assert data.train["date"].max() < pd.Timestamp(test_start)


# --- behaviour on small files written here (always run) -----------------------------------


def test_shared_data_dir_honours_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(A.ENV_VAR, str(tmp_path))
    assert A.shared_data_dir() == tmp_path
    monkeypatch.setenv(A.ENV_VAR, str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match=A.ENV_VAR):
        A.shared_data_dir()


def _write_bank(folder, rows):
    lines = ['"age";"month";"day_of_week";"duration";"y"']
    lines += [f'30;"{m}";"{d}";100;"{y}"' for m, d, y in rows]
    (folder / "bank-additional-full.csv").write_text("\n".join(lines) + "\n")


def test_bank_weekdays_become_dates_and_the_year_turns_when_the_month_goes_back(tmp_path):
    # May 2008 starts on a Thursday: the first Monday is the 5th.
    _write_bank(tmp_path, [("may", "mon", "no"), ("may", "mon", "yes"), ("may", "wed", "no"),
                           ("may", "mon", "no"), ("dec", "fri", "no"), ("mar", "tue", "yes")])
    leads = A.bank_marketing(root=tmp_path)["leads"]  # root may be the dataset folder itself
    assert leads["created_at"].dt.strftime("%Y-%m-%d").tolist() == [
        "2008-05-05", "2008-05-05", "2008-05-07", "2008-05-12", "2008-12-05", "2009-03-03"]
    assert leads["lead_id"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert leads["converted"].tolist() == [0, 1, 0, 0, 0, 1]


def _write_leaky_bank(folder, n=400, seed=0):
    """A bank file whose call duration gives the outcome away (as in the real one: 0 s means no)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    months = np.repeat(["may", "jun", "jul", "aug"], n // 4)
    days = np.tile(np.repeat(["mon", "tue", "wed", "thu", "fri"], 5), n // 25 + 1)[:n]
    duration = np.where(y, rng.integers(300, 900, n), rng.integers(0, 280, n))
    age = rng.integers(20, 70, n)
    lines = ['"age";"month";"day_of_week";"duration";"y"']
    lines += [f'{a};"{m}";"{d}";{s};"{"yes" if v else "no"}"' for a, m, d, s, v in zip(age, months, days, duration, y)]
    (folder / "bank-additional-full.csv").write_text("\n".join(lines) + "\n")


def test_export_moves_the_leaky_columns_out_of_the_leads_table(tmp_path):
    _write_leaky_bank(tmp_path)
    bank = A.bank_marketing(root=tmp_path)
    assert "duration" in bank["leads"].columns and bank["leads"].attrs["leaky"] == ("duration",)
    tables = bank.export()
    assert "duration" not in tables["leads"].columns
    assert list(tables[A.LEAKY_TABLE].columns) == ["lead_id", "duration"]
    assert tables[A.LEAKY_TABLE]["lead_id"].tolist() == tables["leads"]["lead_id"].tolist()
    assert "duration" in bank["leads"].columns  # the adapter's own table is left as it was


def test_leaky_columns_announced_by_data_public_are_not_features_of_leads_compare(tmp_path, capsys):
    from forecasting.cli import main
    from forecasting.leads import compare_models

    _write_leaky_bank(tmp_path)
    db = tmp_path / "bank.duckdb"
    assert main(["data", "public", "bank_marketing", "--root", str(tmp_path), "--out", str(db)]) == 0
    assert "moved out of table leads into leads_leaky (join on lead_id): duration" in capsys.readouterr().err
    assert main(["leads", "compare", str(db), "--out", str(tmp_path / "cmp"), "--folds", "2",
                 "--models", "logistic", "--n-boot", "20"]) == 0
    features = pd.read_csv(tmp_path / "cmp" / "features.csv")
    assert "duration" not in set(features["column"])
    board = pd.read_csv(tmp_path / "cmp" / "leaderboard.csv")
    assert board["roc_auc"].iloc[0] < 0.7  # age alone: no signal; with duration it would be 1.0
    # In Python the adapter's frame carries the list: the same comparison leaves duration out.
    result = compare_models(A.bank_marketing(root=tmp_path)["leads"], models="logistic", folds=2, n_boot=20)
    assert "duration" not in result.features.types and "leaky" in result.features.excluded["duration"]


def test_a_missing_column_names_the_file_and_the_column(tmp_path):
    (tmp_path / "bank-additional-full.csv").write_text('"age";"month";"duration";"y"\n30;"may";1;"no"\n')
    with pytest.raises(DataError) as info:
        A.bank_marketing(root=tmp_path)
    assert info.value.table == "bank-additional-full.csv"
    assert info.value.column == "day_of_week"


def test_a_missing_dataset_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="Leads.csv"):
        A.x_education_leads(root=tmp_path)


def _write_maven(folder):
    pd.DataFrame({
        "opportunity_id": ["W1", "W2", "L1", "E1", "E2", "P1"],
        "sales_agent": ["ann", "ann", "bob", "bob", "ann", "bob"],
        "product": ["GTXPro", "MG Special", "GTXPro", "MG Special", "GTXPro", "MG Special"],
        "account": ["Acme", None, "Acme", "Acme", None, None],
        "deal_stage": ["Won", "Won", "Lost", "Engaging", "Engaging", "Prospecting"],
        "engage_date": ["2017-01-01", "2017-02-01", "2017-01-10", "2017-03-25", "2017-01-05", None],
        "close_date": ["2017-01-11", "2017-02-21", "2017-02-01", None, None, None],
        "close_value": [4000, 50, 0, None, None, None],
    }).to_csv(folder / "sales_pipeline.csv", index=False)
    pd.DataFrame({"account": ["Acme"], "sector": ["technolgy"]}).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame({"product": ["GTX Pro", "MG Special"], "series": ["GTX", "MG"],
                  "sales_price": [4821, 55]}).to_csv(folder / "products.csv", index=False)
    pd.DataFrame({"sales_agent": ["ann", "bob"], "manager": ["m", "m"],
                  "regional_office": ["East", "West"]}).to_csv(folder / "sales_teams.csv", index=False)


def test_maven_open_deals_close_a_median_won_cycle_after_engaging_but_after_extraction(tmp_path):
    _write_maven(tmp_path)
    crm = A.maven_crm(root=tmp_path)
    opps = crm["opportunities"].set_index("opportunity_id")
    # Won cycles 10 and 20 days -> median 15; extraction date = last date in the file.
    assert crm.as_of == pd.Timestamp("2017-03-25")
    assert opps.loc["E1", "close_date"] == pd.Timestamp("2017-04-09")  # engaged 25 Mar + 15 days
    assert opps.loc["E2", "close_date"] == pd.Timestamp("2017-03-26")  # stale: as_of + 1 day
    assert opps.loc["P1", "created_at"] == crm.as_of
    assert opps["amount"].tolist() == [4000.0, 50.0, 4821.0, 55.0, 4821.0, 55.0]
    assert opps["account_id"].tolist() == ["Acme", "unknown", "Acme", "Acme", "unknown", "unknown"]
    assert opps.loc["W1", "segment"] == "technology" and opps.loc["W1", "product"] == "GTX Pro"
    assert crm.stages.probability("Engaging") == round(2 / 3, 2)


def test_maven_unknown_product_is_a_data_error_naming_the_deal(tmp_path):
    _write_maven(tmp_path)
    pipe = pd.read_csv(tmp_path / "sales_pipeline.csv")
    pipe.loc[1, "product"] = "Hover Board"
    pipe.to_csv(tmp_path / "sales_pipeline.csv", index=False)
    with pytest.raises(DataError, match="W2") as info:
        A.maven_crm(root=tmp_path)
    assert info.value.column == "product"
