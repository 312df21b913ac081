"""The demo CRM: sizes, determinism, the known truth behind it, and the DuckDB round trip."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from forecasting.data.demo import DEMO_TABLES, make_demo, simulate_remaining, write_demo
from forecasting.data.schema import DEFAULT_STAGES

END = pd.Timestamp("2026-06-30")
CUTOFF = END + pd.Timedelta(days=1)
CLOSED = set(DEFAULT_STAGES.closed)


@pytest.fixture(scope="module")
def demo():
    """The default-size demo, generated once for the statistical checks."""
    t0 = time.perf_counter()
    tables = make_demo(seed=0)
    print(f"\nmake_demo(seed=0) at default size: {time.perf_counter() - t0:.2f} s")
    return tables


@pytest.fixture(scope="module")
def small():
    return make_demo(seed=3, n_leads=3_000)


def _snapshot(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Last stage-history row of each deal entered before ``as_of``, for deals open then."""
    seen = history[history["entered_at"] < as_of].sort_values(["opportunity_id", "entered_at"])
    last = seen.groupby("opportunity_id").tail(1)
    return last[~last["stage"].isin(CLOSED)].reset_index(drop=True)


def test_default_sizes_match_the_documented_ones(demo):
    leads, opps = demo["leads"], demo["opportunities"]
    assert tuple(demo) == DEMO_TABLES
    assert len(leads) == 24_000
    assert leads["created_at"].max() - leads["created_at"].min() >= pd.Timedelta(days=3 * 365)
    assert leads["created_at"].min() >= pd.Timestamp("2022-07-01") and leads["created_at"].max() < CUTOFF
    assert 3_000 <= len(opps) <= 6_000
    assert 200_000 <= len(demo["activities"]) <= 330_000  # lead and deal touches plus prospecting
    assert demo["revenue"].groupby("segment")["date"].nunique().to_dict() == {
        "SMB": 48, "Mid-Market": 48, "Enterprise": 48}
    assert len(demo["spend"]) == 48 * 6 * 3  # month x source x segment
    assert len(demo["team"]) == 12 + 3 + 1 and len(demo["targets"]) == 12 * 3
    assert 300 <= len(demo["survey"]) <= 700
    assert opps["owner"].nunique() == 12
    assert set(opps["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    assert opps["product"].nunique() == 3
    assert leads["campaign"].nunique() == 40
    assert leads["campaign"].value_counts().min() < 0.002 * len(leads)  # a long tail of rare campaigns
    assert leads["industry"].isna().mean() == pytest.approx(0.05, abs=0.01)
    assert leads["company_size"].isna().mean() == pytest.approx(0.10, abs=0.01)


def test_ids_are_unique_and_formatted(small):
    for table, column, pattern in [("leads", "lead_id", r"L\d{6}"), ("opportunities", "opportunity_id", r"O\d{6}"),
                                   ("activities", "activity_id", r"A\d{7}"), ("accounts", "account_id", r"ACC\d{5}")]:
        ids = small[table][column]
        assert ids.is_unique and ids.str.fullmatch(pattern).all(), table
    assert small["opportunities"]["account_id"].isin(small["accounts"]["account_id"]).all()
    linked = small["opportunities"]["lead_id"].dropna()
    assert linked.isin(small["leads"].loc[small["leads"]["converted"] == 1, "lead_id"]).all()


def test_dtypes_are_canonical(small):
    leads, opps = small["leads"], small["opportunities"]
    assert pd.api.types.is_string_dtype(leads["lead_id"]) and pd.api.types.is_string_dtype(opps["account_id"])
    for table, column in [("leads", "created_at"), ("leads", "converted_at"), ("opportunities", "close_date"),
                          ("stage_history", "entered_at"), ("activities", "occurred_at"), ("revenue", "date"),
                          ("accounts", "churned_at"), ("spend", "month")]:
        assert small[table][column].dtype == "datetime64[ns]", (table, column)
    for table in ("opportunities", "stage_history", "revenue", "spend"):
        assert small[table]["amount"].dtype == "float64"
    assert leads["converted"].dtype == "int64" and set(leads["converted"]) == {0, 1}
    assert leads[["budget", "authority", "need", "timeline"]].dtypes.eq(bool).all()
    assert leads["company_size"].dtype == "float64"


def test_same_seed_same_frames_and_another_seed_differs(small):
    again = make_demo(seed=3, n_leads=3_000)
    for name in DEMO_TABLES:
        pd.testing.assert_frame_equal(small[name], again[name])
    other = make_demo(seed=4, n_leads=3_000)
    assert not small["leads"]["created_at"].equals(other["leads"]["created_at"])
    assert not small["revenue"]["amount"].equals(other["revenue"]["amount"])


def test_stage_history_walks_forward_and_ends_with_the_status(demo):
    history, opps = demo["stage_history"], demo["opportunities"]
    h = history.assign(order=history["stage"].map(DEFAULT_STAGES.order)).sort_values(
        ["opportunity_id", "entered_at"], kind="stable")
    same = h["opportunity_id"].eq(h["opportunity_id"].shift())
    assert (h["order"].diff()[same] > 0).all()
    assert (h["entered_at"].diff()[same] > pd.Timedelta(0)).all()
    first = h.groupby("opportunity_id").head(1).set_index("opportunity_id").loc[opps["opportunity_id"]]
    assert (first["stage"] == "Prospecting").all()
    assert (first["entered_at"].to_numpy() == opps["created_at"].to_numpy()).all()
    # Closing rows come last; the last row is the deal's current stage and amount.
    closing_not_last = h["stage"].isin(CLOSED) & h["opportunity_id"].eq(h["opportunity_id"].shift(-1))
    assert not closing_not_last.any()
    last = h.groupby("opportunity_id").tail(1).set_index("opportunity_id").loc[opps["opportunity_id"]]
    expected = opps["status"].map({"won": "Closed Won", "lost": "Closed Lost"}).fillna(opps["stage"])
    assert (last["stage"].to_numpy() == expected.to_numpy()).all()
    assert (last["stage"].to_numpy() == opps["stage"].to_numpy()).all()
    assert np.allclose(last["amount"].to_numpy(), opps["amount"].to_numpy())
    closed = opps["status"].ne("open").to_numpy()
    assert (last["entered_at"].dt.normalize().to_numpy()[closed] == opps["close_date"].to_numpy()[closed]).all()
    assert history["entered_at"].max() < CUTOFF


def test_close_dates_follow_creation_and_open_deals_close_after_today(demo):
    opps = demo["opportunities"]
    assert (opps["close_date"] >= opps["created_at"]).all()
    open_ = opps[opps["status"] == "open"]
    assert len(open_) > 100 and (open_["close_date"] >= END).all()
    assert not open_["stage"].isin(CLOSED).any()
    assert set(opps["status"]) == {"open", "won", "lost"}
    # Expected close dates slip at stage changes, more often for low-quality deals.
    h = demo["stage_history"].merge(demo["opportunity_truth"], on="opportunity_id")
    h = h.sort_values(["opportunity_id", "entered_at"])
    h["before"] = h.groupby("opportunity_id")["close_date"].shift()
    changes = h[~h["stage"].isin(CLOSED) & h["before"].notna()]
    pushed = changes["close_date"] > changes["before"]
    assert (changes["close_date"] >= changes["before"]).all()  # never pulled in
    low = changes["quality"] < changes["quality"].median()
    assert pushed[low].mean() > 1.5 * pushed[~low].mean() > 0.1


def test_lead_conversion_rate_is_in_the_documented_range(demo):
    leads = demo["leads"]
    assert 0.12 <= leads["converted"].mean() <= 0.18
    converted = leads["converted"] == 1
    assert leads["converted_at"].notna().eq(converted).all()
    assert (leads.loc[converted, "converted_at"] > leads.loc[converted, "created_at"]).all()
    assert leads["converted_at"].max() < CUTOFF


def test_p_true_is_calibrated(demo):
    y = demo["leads"]["converted"].to_numpy()
    p = demo["lead_truth"]["p_true"].to_numpy()
    assert abs(p.mean() - y.mean()) < 0.01
    bins = pd.qcut(p, 10, labels=False)
    for b in range(10):
        pb, yb = p[bins == b], y[bins == b]
        sd = np.sqrt(pb.mean() * (1 - pb.mean()) / len(pb))
        assert abs(yb.mean() - pb.mean()) < 4 * sd + 0.005, b


def test_p_true_auc_is_in_the_documented_range(demo):
    auc = roc_auc_score(demo["leads"]["converted"], demo["lead_truth"]["p_true"])
    assert 0.80 <= auc <= 0.88


def test_lead_status_leaks_the_label_almost_but_not_exactly(demo):
    leads = demo["leads"]
    says_converted = leads["lead_status"].eq("Converted")
    agreement = (says_converted == leads["converted"].eq(1)).mean()
    assert 0.98 < agreement < 1.0


def test_boosting_on_lead_features_gets_close_to_the_truth():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    tables = make_demo(seed=5, n_leads=12_000)
    leads = tables["leads"]
    X = leads.drop(columns=["lead_id", "created_at", "note", "lead_status", "converted", "converted_at"])
    for column in ("source", "campaign", "industry", "seniority", "country"):
        X[column] = X[column].astype("category")
    X = X.astype({c: int for c in ("budget", "authority", "need", "timeline")})
    y, p = leads["converted"].to_numpy(), tables["lead_truth"]["p_true"].to_numpy()
    train = np.random.default_rng(0).random(len(y)) < 0.7
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", learning_rate=0.05,
                                           max_iter=200, max_leaf_nodes=15, random_state=0)
    with threadpool_limits(1):  # OpenMP threads on a shared 2-core box are ~40x slower
        model.fit(X[train], y[train])
        learned = roc_auc_score(y[~train], model.predict_proba(X[~train])[:, 1])
    truth = roc_auc_score(y[~train], p[~train])
    assert truth - 0.05 < learned < truth + 0.01


def test_response_minutes_is_the_first_activity_on_the_lead(demo):
    leads, acts = demo["leads"], demo["activities"]
    first = acts.dropna(subset=["lead_id"]).groupby("lead_id")["occurred_at"].min()
    response = (first.reindex(leads["lead_id"]).to_numpy() - leads["created_at"].to_numpy()) / np.timedelta64(1, "m")
    assert leads["response_minutes"].dtype == "float64"
    np.testing.assert_array_equal(leads["response_minutes"].to_numpy(), response)  # exactly, NaN where untouched
    untouched = leads["response_minutes"].isna()
    assert 0 < untouched.sum() < 50  # only leads of the last days can still wait for their first touch
    assert (leads.loc[untouched, "created_at"] > END - pd.Timedelta(days=14)).all()


def test_fast_first_touch_converts_more(demo):
    leads = demo["leads"]
    response = leads["response_minutes"]
    assert 30 < response.median() < 300 and response.min() >= 1
    fast, slow = leads["converted"][response < 30].mean(), leads["converted"][response > 24 * 60].mean()
    assert fast > slow + 0.02  # 0.8 logit at an instant reply, decaying over an hour


def test_deal_activities_happen_while_the_deal_is_open(demo):
    acts, opps = demo["activities"], demo["opportunities"]
    deal_acts = acts.dropna(subset=["opportunity_id"]).merge(opps, on="opportunity_id", suffixes=("", "_deal"))
    assert (deal_acts["occurred_at"] >= deal_acts["created_at"]).all()
    closed = deal_acts["status"] != "open"
    assert (deal_acts.loc[closed, "occurred_at"] < deal_acts.loc[closed, "close_date"] + pd.Timedelta(days=1)).all()
    assert (deal_acts["owner"] == deal_acts["owner_deal"]).all()
    reached_demo = demo["stage_history"].loc[demo["stage_history"]["stage"] == "Demo", "opportunity_id"]
    demos = acts.loc[acts["type"] == "demo", "opportunity_id"]
    assert demos.notna().all() and demos.isin(reached_demo).all()
    assert set(reached_demo) <= set(demos)
    assert set(acts["type"]) == {"call", "email", "meeting", "demo"}
    assert acts["occurred_at"].max() < CUTOFF


def test_win_rate_and_p_win_are_consistent(demo):
    opps = demo["opportunities"].merge(demo["opportunity_truth"], on="opportunity_id")
    closed = opps[opps["status"] != "open"]
    assert 0.25 <= (closed["status"] == "won").mean() <= 0.35
    # Deals created over a year before "today" have all closed: their win rate is their mean p_win.
    old = opps[opps["created_at"] < END - pd.Timedelta(days=365)]
    assert (old["status"] != "open").all()
    sd = np.sqrt((old["p_win"] * (1 - old["p_win"])).sum())
    assert abs((old["status"] == "won").sum() - old["p_win"].sum()) < 4 * sd
    product = np.prod(demo["opportunity_truth"].filter(like="p_advance_").to_numpy(), axis=1)
    assert np.allclose(product, demo["opportunity_truth"]["p_win"])


def test_enterprise_deals_are_much_larger(demo):
    median = demo["opportunities"].groupby("segment")["amount"].median()
    assert median["Enterprise"] > 3 * median["Mid-Market"] > 9 * median["SMB"]
    assert (demo["opportunities"]["amount"] > 0).all()


def test_q4_closes_more_deals_than_the_following_q1(demo):
    closed = demo["opportunities"].query("status != 'open'")
    per_quarter = closed["close_date"].dt.to_period("Q").value_counts()
    q4 = sum(per_quarter.get(pd.Period(f"{y}Q4"), 0) for y in range(2022, 2026))
    q1 = sum(per_quarter.get(pd.Period(f"{y + 1}Q1"), 0) for y in range(2022, 2026))
    assert q4 > 1.08 * q1  # despite 30% yearly growth favouring the later quarter


def test_churn_rate_is_about_ten_percent_a_year(demo):
    accounts, opps = demo["accounts"], demo["opportunities"]
    first_win = opps[opps["status"] == "won"].groupby("account_id")["close_date"].min()
    since = accounts.set_index("account_id")["customer_since"]
    pd.testing.assert_series_equal(since.dropna().sort_index(), first_win.sort_index(), check_names=False)
    customers = accounts.dropna(subset=["customer_since"])
    assert (customers["churned_at"].dropna() > customers.loc[customers["churned_at"].notna(), "customer_since"]).all()
    assert accounts.loc[accounts["customer_since"].isna(), "churned_at"].isna().all()
    years = ((customers["churned_at"].fillna(CUTOFF) - customers["customer_since"]).dt.days / 365.25).sum()
    assert 0.07 <= customers["churned_at"].notna().sum() / years <= 0.13


def test_revenue_is_won_deal_mrr_plus_base_times_a_known_season(demo):
    revenue, truth = demo["revenue"], demo["revenue_truth"]
    opps, accounts = demo["opportunities"], demo["accounts"]
    won = opps[opps["status"] == "won"].merge(accounts[["account_id", "churned_at"]], on="account_id")
    months = pd.date_range("2022-07-01", periods=48, freq="MS")
    for segment, series in revenue.groupby("segment"):
        series = series.set_index("date")["amount"]
        deals = won[won["segment"] == segment]
        begin = deals["close_date"].dt.to_period("M").dt.to_timestamp() + pd.offsets.MonthBegin(1)
        stop = (deals["churned_at"].dt.to_period("M").dt.to_timestamp() + pd.offsets.MonthBegin(1)).fillna(CUTOFF)
        mrr = np.array([(deals["amount"][(begin <= m) & (m < stop)] / 12).sum() for m in months])
        t = truth[truth["segment"] == segment].set_index("month_of_year")
        base = t["base_level"].iloc[0] * (1 + t["base_growth_per_month"].iloc[0]) ** np.arange(48)
        residual = np.log(series.to_numpy() / ((base + mrr) * t["seasonal_factor"].loc[months.month].to_numpy()))
        assert abs(residual.mean()) < 0.01 and residual.std() == pytest.approx(t["noise_sd"].iloc[0], rel=0.35)
        # A forecaster's view: month-of-year means of the detrended series recover the season.
        trend = series.rolling(12, center=True).mean().rolling(2).mean().shift(-1)
        ratio = (series / trend).groupby(series.index.month).mean()
        assert np.corrcoef(ratio.to_numpy(), t["seasonal_factor"].to_numpy())[0, 1] > 0.8
        assert t["seasonal_factor"].mean() == pytest.approx(1.0)


def test_simulate_remaining_reproduces_what_open_deals_did(demo):
    as_of = pd.Timestamp("2025-04-01")
    snap = _snapshot(demo["stage_history"], as_of)
    truth = demo["opportunity_truth"].set_index("opportunity_id").loc[snap["opportunity_id"]].reset_index()
    paths = simulate_remaining(truth, snap["stage"], as_of, rng=1, entered_at=snap["entered_at"],
                               amount=snap["amount"], n_sims=300)
    assert len(paths) == 300 * len(snap) and (paths["closed_at"] > as_of).all()
    assert set(paths["status"]) == {"won", "lost"}
    horizon = as_of + pd.Timedelta(days=91)
    hit = (paths["status"] == "won") & (paths["closed_at"] < horizon)
    p = hit.groupby(paths["opportunity_id"], sort=False).mean().to_numpy()
    outcome = demo["opportunities"].set_index("opportunity_id").loc[snap["opportunity_id"]]
    actual = ((outcome["status"] == "won") & (outcome["close_date"] < horizon)).sum()
    assert abs(actual - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    # Later stages are more likely to be won.
    p_stage = pd.Series(p).groupby(snap["stage"].to_numpy()).mean()
    assert p_stage["Negotiation"] > p_stage["Prospecting"]


def test_simulate_remaining_rejects_a_closed_stage(small):
    with pytest.raises(ValueError, match="open stage"):
        simulate_remaining(small["opportunity_truth"].head(2), "Closed Won", "2026-06-30", rng=0)


def test_spend_and_quotas_cover_the_window(demo):
    spend, quotas, opps = demo["spend"], demo["quotas"], demo["opportunities"]
    assert spend["month"].nunique() == 48 and (spend["amount"] > 0).all()
    assert set(spend["source"]) == set(demo["leads"]["source"])
    periods = [str(p) for p in pd.period_range("2022Q3", "2026Q3", freq="Q")]
    assert sorted(quotas["period"].unique()) == periods
    assert len(quotas) == len(periods) * 12
    won = opps[opps["status"] == "won"].groupby("owner")["amount"].sum()
    in_window = quotas[quotas["period"] != "2026Q3"].groupby("owner")["quota"].sum()
    ratio = in_window / won.reindex(in_window.index)
    assert ratio.between(1.15, 1.30).all()


def test_n_opportunities_sets_the_number_of_deals():
    tables = make_demo(seed=2, n_leads=3_000, n_opportunities=300)
    opps = tables["opportunities"]
    assert len(opps) == 300
    assert opps["lead_id"].notna().mean() == pytest.approx(0.8, abs=0.01)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n_leads"):
        make_demo(n_leads=10)
    with pytest.raises(ValueError, match="window"):
        make_demo(start="2026-01-01", end="2025-01-01")
    with pytest.raises(ValueError, match="formats"):
        write_demo("unused", formats=("xlsx",))


def test_write_demo_round_trips_through_duckdb_csv_and_parquet(tmp_path):
    import duckdb

    kwargs = dict(seed=7, n_leads=1_000)
    t0 = time.perf_counter()
    path = write_demo(tmp_path, formats=("duckdb", "csv", "parquet"), **kwargs)
    print(f"\nwrite_demo(n_leads=1000, all formats): {time.perf_counter() - t0:.2f} s")
    assert path == tmp_path / "crm.duckdb"
    expected = make_demo(**kwargs)
    with duckdb.connect(str(path), read_only=True) as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert names == set(DEMO_TABLES) | {"demo_meta"}
        assert con.execute("SELECT seed FROM demo_meta").fetchone() == (7,)
        for name in DEMO_TABLES:
            pd.testing.assert_frame_equal(con.execute(f'SELECT * FROM "{name}"').df(), expected[name])
    for name in DEMO_TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), expected[name])
        assert (tmp_path / f"{name}.csv").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "leads.csv")) == 1_000
    # Rewriting replaces the database in place and leaves no temporary files.
    write_demo(tmp_path, **{**kwargs, "seed": 8})
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with duckdb.connect(str(path), read_only=True) as con:
        first = con.execute('SELECT created_at FROM "leads" LIMIT 1').fetchone()[0]
    assert pd.Timestamp(first) == make_demo(seed=8, n_leads=1_000)["leads"]["created_at"].iloc[0]


def test_default_demo_writes_every_table_in_seconds(tmp_path, demo):
    import duckdb

    t0 = time.perf_counter()
    path = write_demo(tmp_path)
    print(f"\nmake_demo + write_demo at default size: {time.perf_counter() - t0:.2f} s")
    with duckdb.connect(str(path), read_only=True) as con:
        for name in DEMO_TABLES:
            assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == len(demo[name]), name


def test_stale_demo_file_is_regenerated(tmp_path, monkeypatch):
    """A demo database made by another seed or generator version is rewritten on use."""
    from forecasting.data import load_table
    from forecasting.data.embedded import ensure_demo

    monkeypatch.setenv("FORECASTING_HOME", str(tmp_path))
    path = write_demo(tmp_path / "data" / "demo", seed=3, n_leads=500)
    assert len(load_table("leads", path)) == 500
    assert ensure_demo(seed=0) == path
    assert len(load_table("leads", "demo")) == 24_000


# --------------------------------------------------------------------------- the sales organisation


def test_org_tables_validate_against_the_data_contract(demo):
    from forecasting.data.validate import check, conform

    for kind in ("team", "forecast_calls", "targets", "survey"):
        frame, problems = conform(demo[kind], kind)
        assert problems == [], (kind, problems)
        assert check(frame, kind) == [], kind
        assert len(frame) == len(demo[kind])


def test_team_is_a_tree_with_one_top_over_the_deal_owners(demo):
    team = demo["team"]
    assert team["owner"].is_unique and team["manager"].isna().sum() == 1
    boss = dict(zip(team["owner"], team["manager"]))
    depth = {}
    for person in boss:  # walk up: no cycle, every path ends at the one top
        seen, node = [], person
        while isinstance(boss.get(node), str):
            assert node not in seen, f"cycle through {node}"
            seen.append(node)
            node = boss[node]
        assert boss.get(node) is not None or node in boss
        depth[person] = len(seen)
    assert sorted(set(depth.values())) == [0, 1, 2]  # VP, managers, reps
    reps = {p for p, d in depth.items() if d == 2}
    assert reps == set(demo["opportunities"]["owner"]) == set(demo["activities"]["owner"])
    per_manager = team[team["owner"].isin(reps)].groupby("manager")["owner"].count()
    assert 2 <= len(per_manager) <= 3 and team.loc[team["owner"].isin(reps), "territory"].notna().all()


def _rep_calls(tables) -> pd.DataFrame:
    """Reps' calls of the past quarters with the amount the rep actually won in the quarter."""
    opps, calls, truth = tables["opportunities"], tables["forecast_calls"], tables["call_truth"]
    won = opps[opps["status"] == "won"]
    actual = won.groupby([won["owner"], won["close_date"].dt.to_period("Q").astype(str)])["amount"].sum()
    reps = calls[calls["owner"].isin(truth["owner"])].copy()
    reps["actual"] = actual.reindex(pd.MultiIndex.from_frame(reps[["owner", "period"]])).fillna(0.0).to_numpy()
    start = pd.PeriodIndex(reps["period"], freq="Q").start_time
    reps["week"] = ((reps["submitted_at"] - start).dt.days // 7).to_numpy()
    first = reps["period"].min()
    return reps[(reps["actual"] > 0) & (reps["period"] > first)]  # the first quarter has little to call


def test_calls_are_append_only_within_their_quarter(demo):
    calls = demo["forecast_calls"]
    assert not calls.duplicated(["owner", "submitted_at"]).any()
    assert calls["submitted_at"].is_monotonic_increasing
    quarter = calls["submitted_at"].dt.to_period("Q").astype(str)
    assert (quarter == calls["period"]).all()  # no call for a closed period
    assert calls["submitted_at"].max() < CUTOFF
    reps = calls[calls["owner"].isin(demo["call_truth"]["owner"])]
    assert reps.groupby(["owner", "period"]).size().min() >= 12  # every week of the quarter
    assert (calls["best_case"] >= calls["commit"]).all() and (calls[["commit", "pipeline"]] >= 0).all().all()


def test_calls_converge_to_the_actual_late_in_the_quarter(demo):
    reps = _rep_calls(demo)
    error = ((reps["commit"] - reps["actual"]).abs() / reps["actual"]).groupby(reps["week"]).mean()
    assert error.loc[0] > 0.2 and error.loc[12] < 0.05
    assert (np.diff(error.loc[0:12].to_numpy()) < 0.02).all()  # shrinks, week by week (up to noise)


def test_sandbaggers_call_low_and_optimists_high_as_their_bias_says(demo):
    reps = _rep_calls(demo)
    ratio = (reps["commit"] / reps["actual"]).groupby(reps["owner"]).mean()
    truth = demo["call_truth"].set_index("owner")
    assert set(truth["behaviour"]) == {"sandbagger", "realist", "optimist"}
    # The bias acts on what is still to close: about half of the quarter's amount on average.
    expected = 1.0 + (truth["bias"] - 1.0) * 0.55
    np.testing.assert_allclose(ratio.loc[truth.index], expected, atol=0.06)
    assert (ratio[truth.index[truth["behaviour"] == "sandbagger"]] < 0.95).all()
    assert (ratio[truth.index[truth["behaviour"] == "optimist"]] > 1.05).all()


def test_managers_adjust_their_reps_calls_and_the_vp_keeps_a_reserve(demo):
    calls, team, truth = demo["forecast_calls"], demo["team"], demo["call_truth"]
    vp = team.loc[team["manager"].isna(), "owner"].iloc[0]
    managers = team.loc[team["manager"] == vp, "owner"]
    factor = truth.set_index("owner")["behaviour"].map({"optimist": 0.85, "sandbagger": 1.10, "realist": 1.0})
    day = calls["submitted_at"].dt.normalize()
    overrides = calls[calls["owner"].isin(managers)]
    assert len(overrides) > 20 and overrides["note"].notna().all()
    team_call = {}
    for _, row in overrides.iterrows():
        reps = team.loc[team["manager"] == row["owner"], "owner"]
        week = calls[calls["owner"].isin(reps) & (day == row["submitted_at"].normalize())].set_index("owner")
        # The override is the roll-up with a 15% haircut on optimists and 10% more on sandbaggers (commits in 100s).
        assert row["commit"] == pytest.approx((week["commit"] * factor.loc[week.index]).sum(), abs=60 * len(reps))
        assert all(rep in row["note"] for rep in week.index if factor[rep] != 1.0)
        team_call[row["owner"], row["submitted_at"].normalize()] = row["commit"]
    vp_rows = calls[calls["owner"] == vp]
    assert len(vp_rows) > 10 and vp_rows["note"].str.contains("reserve").all()
    for _, row in vp_rows.iterrows():  # 95% of the managers' calls (their override, else their reps' roll-up)
        total = 0.0
        for manager in managers:
            reps = team.loc[team["manager"] == manager, "owner"]
            rolled = calls.loc[calls["owner"].isin(reps) & (day == row["submitted_at"].normalize()), "commit"].sum()
            total += team_call.get((manager, row["submitted_at"].normalize()), rolled)
        assert row["commit"] == pytest.approx(0.95 * total, abs=60 * len(truth))
    assert (calls.loc[calls["note"].isna(), "owner"].isin(truth["owner"])).all()


def test_activities_have_durations_responses_and_no_shows(demo):
    acts = demo["activities"]
    kind = acts["type"]
    minutes = acts["duration_minutes"].groupby(kind).median()
    assert minutes["call"] == pytest.approx(4.0, rel=0.1) and minutes["meeting"] == pytest.approx(30.0, rel=0.1)
    assert acts.loc[kind == "email", "duration_minutes"].isna().all()
    assert acts.loc[kind == "email", "responded"].mean() == pytest.approx(0.22, abs=0.01)
    assert acts.loc[kind != "email", "responded"].isna().all()
    held = acts.loc[kind.isin(["meeting", "demo"]), "completed"]
    assert held.mean() == pytest.approx(0.85, abs=0.01) and held.notna().all()
    no_show = acts["completed"].eq(False).fillna(False).astype(bool)
    assert acts.loc[no_show, "duration_minutes"].isna().all()  # a meeting that did not happen has no duration


def test_activity_attainment_follows_each_reps_effort(demo):
    acts, targets = demo["activities"], demo["targets"]
    weekdays = acts[acts["occurred_at"].dt.day_of_week < 5]
    days = weekdays["occurred_at"].dt.normalize().nunique()
    calls = weekdays[weekdays["type"] == "call"].groupby("owner").size() / days
    target = targets[targets["type"] == "call"].set_index("owner")["target"]
    attainment = (calls / target).loc[target.index]
    effort = demo["activity_truth"].set_index("owner")["effort"].loc[target.index]
    np.testing.assert_allclose(attainment, effort, atol=0.05)
    assert attainment.max() - attainment.min() > 0.25 and (attainment < 1).any() and (attainment > 1).any()
    assert set(targets["freq"]) == {"D", "W"}


def test_upsell_and_cross_sell_both_happen_and_margins_are_20_to_60_percent(demo):
    opps = demo["opportunities"].sort_values("created_at", kind="stable")
    earlier = opps.groupby("account_id").cumcount() > 0
    had = opps.assign(one=1).pivot_table(index="account_id", columns="product", values="one", aggfunc="size")
    repeat = opps[earlier]
    first_products = opps[~earlier].set_index("account_id")["product"]
    same = repeat["product"].to_numpy() == first_products.loc[repeat["account_id"]].to_numpy()
    assert same.sum() > 50 and (~same).sum() > 50 and had.shape[1] == 3
    margin = (opps["amount"] - opps["cost"]) / opps["amount"]
    assert margin.between(0.2, 0.6).all() and 0.4 < margin.mean() < 0.55
    assert set(opps["contract_months"]) == {12, 24, 36}
    assert (opps["quantity"] >= 1).all()
    months = opps.groupby("segment")["contract_months"].mean()
    assert months["SMB"] < months["Mid-Market"] < months["Enterprise"]


def test_survey_scores_are_nps_answers_of_customers_and_employees(demo):
    survey, accounts, team = demo["survey"], demo["accounts"], demo["team"]
    assert survey["score"].between(0, 10).all() and (survey["score"] % 1 == 0).all()
    customers = survey[survey["kind"] == "customer"]
    assert customers["respondent_id"].isin(accounts["account_id"]).all()
    employees = survey[survey["kind"] == "employee"]
    assert set(employees["respondent_id"]) == set(team["owner"])
    churned = customers["respondent_id"].isin(accounts.loc[accounts["churned_at"].notna(), "account_id"])
    assert customers.loc[churned, "score"].mean() < customers.loc[~churned, "score"].mean() - 1.0


def test_spend_splits_by_segment_and_the_org_tables_are_deterministic(small):
    again = make_demo(seed=3, n_leads=3_000)
    for name in ("team", "forecast_calls", "targets", "survey", "call_truth", "activity_truth", "spend"):
        pd.testing.assert_frame_equal(small[name], again[name])
    assert set(small["spend"]["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    other = make_demo(seed=4, n_leads=3_000)
    assert not other["forecast_calls"]["commit"].equals(small["forecast_calls"]["commit"])
