"""The world zoo: every world loads cleanly, has its documented properties, and runs through the CLI."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from forecasting.cli import main
from forecasting.data import DEFAULT_STAGES, load_table
from forecasting.data.validate import DataWarning
from forecasting.data.worlds import END, START, WORLDS, make_world, write_world

NAMES = list(WORLDS)
GENERATED = [n for n in NAMES if n != "demo"]
HALF = START + (END - START) / 2  # deals created before this have all closed by END


@pytest.fixture(scope="module")
def worlds():
    """Every world at full size, generated once (and timed in CPU seconds: the box is shared)."""
    out = {}
    for name in NAMES:
        t0 = time.process_time()
        out[name] = make_world(name, seed=0)
        seconds = time.process_time() - t0
        assert seconds < 3.0, (name, seconds)
    return out


def _early(world) -> pd.DataFrame:
    opps = world.tables["opportunities"]
    return opps[opps["created_at"] < HALF]


def _won_in(opps: pd.DataFrame, period: str) -> float:
    p = pd.Period(period)
    won = opps[(opps["status"] == "won") & opps["close_date"].between(p.start_time, p.end_time)]
    return float(won["amount"].sum())


def test_the_zoo_has_distinct_worlds_each_described_in_one_line():
    assert len(GENERATED) >= 6 and NAMES[0] == "demo"
    assert all("\n" not in line and 20 < len(line) < 140 for line in WORLDS.values())
    stage_counts = {len(make_world(n, size=0.05).stages.open) for n in GENERATED}
    assert min(stage_counts) == 3 and max(stage_counts) == 7


@pytest.mark.parametrize("name", NAMES)
def test_tables_load_with_the_worlds_stages_without_errors(worlds, name):
    world = worlds[name]
    expected = {"leads", "opportunities", "activities", "revenue", "spend", "team", "forecast_calls", "targets",
                "survey"}
    expected |= set() if name == "no_history" else {"stage_history"}
    assert set(world.tables) == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        opps = load_table("opportunities", world.tables["opportunities"], stages=world.stages)
        if "stage_history" in world.tables:
            history = load_table("stage_history", world.tables["stage_history"], stages=world.stages,
                                 opportunities=opps)
            assert set(history["stage"]) == set(world.stages.all)
        load_table("leads", world.tables["leads"], require_label=True)
        load_table("activities", world.tables["activities"])
        load_table("revenue", world.tables["revenue"])
    assert set(opps["status"]) == {"open", "won", "lost"}
    assert (opps["amount"] > 0).all()
    assert opps["created_at"].min() >= START and opps["created_at"].max() < END + pd.Timedelta(days=1)
    quarters = opps["created_at"].dt.to_period("Q").nunique()
    assert quarters >= 16  # backtests get >= 8 periods after a year of history


@pytest.mark.parametrize("name", NAMES)
def test_lead_truth_is_kept_out_of_the_features_and_calibrated(worlds, name):
    world = worlds[name]
    leads, p = world.tables["leads"], world.lead_truth
    assert p.index.equals(leads.index) and p.between(0, 1).all()
    assert not {"p_true", "true_p", "p_eventual"} & set(leads.columns)
    numeric = leads.select_dtypes("number").drop(columns=["converted"])
    assert (numeric.corrwith(p).abs() < 0.99).all()
    y = leads["converted"].to_numpy()
    assert abs(p.mean() - y.mean()) < 0.01
    bins = pd.qcut(p, 5, labels=False, duplicates="drop")
    for b in np.unique(bins):
        pb, yb = p[bins == b], y[bins == b]
        sd = np.sqrt(pb.mean() * (1 - pb.mean()) / len(pb))
        assert abs(yb.mean() - pb.mean()) < 4 * sd + 0.005, (name, b)
    assert roc_auc_score(y, p) > 0.65


@pytest.mark.parametrize("name", NAMES)
def test_win_rate_and_cycle_length_match_the_documented_ones(worlds, name):
    world = worlds[name]
    early = _early(world)
    assert (early["status"] != "open").all()
    tolerance = 0.05 if name == "shock_quarters" else 0.03  # the number of shocked quarters varies by seed
    assert (early["status"] == "won").mean() == pytest.approx(world.properties["win_rate"], abs=tolerance)
    won = early[early["status"] == "won"]
    cycle = (won["close_date"] - won["created_at"]).dt.days.median()
    # Won deals are the better ones, and better deals move faster: the median is below the nominal days.
    assert 0.65 * world.properties["cycle_days"] < cycle < 1.05 * world.properties["cycle_days"]


def test_cycles_span_two_weeks_to_nine_months_and_win_rates_8_to_45_percent(worlds):
    cycles = {n: worlds[n].properties["cycle_days"] for n in GENERATED}
    assert min(cycles.values()) <= 15 and max(cycles.values()) >= 270
    rates = {n: worlds[n].properties["win_rate"] for n in GENERATED}
    assert min(rates.values()) == 0.08 and max(rates.values()) == 0.45


def _monthly_rate(opps: pd.DataFrame, growth: float) -> pd.Series:
    """Deals created per day in each calendar month, detrended by the yearly growth."""
    counts = opps["created_at"].dt.to_period("M").value_counts().sort_index()
    rate = counts.to_numpy() / counts.index.days_in_month.to_numpy() / (1 + growth) ** (np.arange(len(counts)) / 12)
    return pd.Series(rate, index=counts.index.month).groupby(level=0).mean()


@pytest.mark.parametrize("name", GENERATED)
def test_new_deals_peak_in_the_documented_month(worlds, name):
    world = worlds[name]
    rate = _monthly_rate(world.tables["opportunities"], growth=0.2)
    peak = world.properties["peak_month"]
    if peak is None:
        assert rate.max() / rate.min() < 1.35
    else:
        assert rate.idxmax() == peak and rate.max() / rate.min() > 1.6
    if world.properties["season"] == "summer_dip":
        assert rate.idxmin() in (7, 8)


def test_shocked_quarters_win_less(worlds):
    world = worlds["shock_quarters"]
    shocked = set(world.properties["shock_quarters"])
    assert shocked
    closed = world.tables["opportunities"].query("status != 'open'")
    quarter = closed["close_date"].dt.to_period("Q").astype(str)
    won = closed["status"].eq("won")
    assert won[quarter.isin(shocked)].mean() < 0.7 * won[~quarter.isin(shocked)].mean()
    calm = worlds["velocity_smb"].properties["shock_quarters"]
    assert calm == []


def _first_and_last_open_rows(history: pd.DataFrame, stages) -> tuple[pd.DataFrame, pd.DataFrame]:
    open_rows = history[~history["stage"].isin(stages.closed)]
    return open_rows.groupby("opportunity_id").head(1), open_rows.groupby("opportunity_id").tail(1)


def test_optimistic_reps_inflate_amounts_and_pull_close_dates_in(worlds):
    world = worlds["rep_bias"]
    opps, history = world.tables["opportunities"], world.tables["stage_history"]
    first, last = _first_and_last_open_rows(history, world.stages)
    won = opps[opps["status"] == "won"].set_index("opportunity_id")
    ratio = (last.set_index("opportunity_id")["amount"].reindex(won.index) / won["amount"])
    per_owner = ratio.groupby(won["owner"]).median()
    assert (per_owner.round(2) == 1.4).sum() == world.properties["biased_reps"] == 4
    assert (per_owner.round(2) == 1.0).sum() == len(per_owner) - 4
    biased = per_owner.index[per_owner.round(2) == 1.4]
    assert sorted(biased) == world.properties["biased_owners"]
    lead_time = (first.set_index("opportunity_id")["close_date"] - opps.set_index("opportunity_id")["created_at"])
    owner = opps.set_index("opportunity_id")["owner"]
    days = lead_time.dt.days.groupby(owner.isin(biased)).median()
    assert days[True] < 0.75 * days[False]
    # Elsewhere a won deal's amount is the amount it had while open.
    other = worlds["hubspot_slippage"]
    _, last = _first_and_last_open_rows(other.tables["stage_history"], other.stages)
    won = other.tables["opportunities"].query("status == 'won'").set_index("opportunity_id")
    assert np.allclose(last.set_index("opportunity_id")["amount"].reindex(won.index), won["amount"])


def _slipped_share(world) -> float:
    """Share of won deals that closed after the close date expected at creation."""
    first, _ = _first_and_last_open_rows(world.tables["stage_history"], world.stages)
    won = _early(world).query("status == 'won'").set_index("opportunity_id")
    expected = first.set_index("opportunity_id")["close_date"].reindex(won.index)
    return float((won["close_date"] > expected).mean())


def test_close_dates_slip_in_the_slippage_world(worlds):
    assert _slipped_share(worlds["hubspot_slippage"]) > 0.7
    assert _slipped_share(worlds["velocity_smb"]) < 0.5
    world = worlds["hubspot_slippage"]
    history = world.tables["stage_history"]
    history = history[~history["stage"].isin(world.stages.closed)]
    before = history.groupby("opportunity_id")["close_date"].shift()
    changed = history["close_date"][before.notna()] != before.dropna()
    assert 0.4 < changed.mean() < 0.9
    assert (history["close_date"][before.notna()] >= before.dropna()).all()  # pushed, never pulled in


def test_whales_hold_a_big_share_of_the_enterprise_pipeline(worlds):
    def top_share(name):
        amount = worlds[name].tables["opportunities"]["amount"].sort_values(ascending=False)
        return amount.head(len(amount) // 100).sum() / amount.sum()

    assert top_share("enterprise_whales") > 0.15
    assert top_share("velocity_smb") < 0.06


def test_the_no_history_world_has_opportunities_only(worlds):
    world = worlds["no_history"]
    assert "stage_history" not in world.tables
    assert set(world.tables["opportunities"]["stage"]) <= set(world.stages.all)


def test_lead_drift_turns_the_engagement_effect_around(worlds):
    leads = worlds["lead_drift"].tables["leads"]
    created = leads["created_at"]
    when = (created - created.min()) / (created.max() - created.min())  # 0 .. 1 over the window
    early, late = leads[when < 1 / 3], leads[when > 2 / 3]
    assert roc_auc_score(early["converted"], early["engagement"]) > 0.7
    assert roc_auc_score(late["converted"], late["engagement"]) < 0.45
    webinar = leads["channel"] == "webinar"
    before, after = (leads.loc[webinar & half, "converted"].mean() for half in (when < 0.5, when >= 0.5))
    assert before > 2 * after


def test_lead_worlds_differ_in_cardinality_missingness_and_rarity(worlds):
    high = worlds["shock_quarters"].tables["leads"]
    assert high["account_domain"].nunique() > 1000
    assert (high["account_domain"].value_counts() == 1).sum() > 100  # a long tail of one-off levels
    missing = worlds["rep_bias"].tables["leads"]
    gone = missing["annual_revenue_m"].isna()
    assert 0.2 < gone.mean() < 0.6
    assert missing.loc[gone, "converted"].mean() < 0.7 * missing.loc[~gone, "converted"].mean()  # not at random
    assert worlds["no_history"].tables["leads"]["converted"].mean() < 0.06


def test_same_seed_same_tables_and_another_seed_differs():
    for name in NAMES:
        a, b, c = (make_world(name, seed, size=0.1) for seed in (3, 3, 4))
        for kind in a.tables:
            pd.testing.assert_frame_equal(a.tables[kind], b.tables[kind])
        pd.testing.assert_series_equal(a.lead_truth, b.lead_truth)
        assert not a.tables["opportunities"]["amount"].equals(c.tables["opportunities"]["amount"]), name
        np.testing.assert_array_equal(a.oracle("2026-03-31", "2026Q2", n_sims=50, seed=1),
                                      b.oracle("2026-03-31", "2026Q2", n_sims=50, seed=1))


def test_demo_world_is_the_demo():
    from forecasting.data.demo import make_demo

    world, demo = make_world("demo", seed=2, size=0.1), make_demo(seed=2, n_leads=2_400)
    for kind, frame in world.tables.items():
        pd.testing.assert_frame_equal(frame, demo[kind])
    assert world.stages == DEFAULT_STAGES
    np.testing.assert_array_equal(world.lead_truth.to_numpy(), demo["lead_truth"]["p_true"].to_numpy())


@pytest.mark.parametrize("name", NAMES)
def test_oracle_after_the_period_is_the_actual(worlds, name):
    world = worlds[name]
    draws = world.oracle("2025-10-15", "2025Q3", n_sims=20)
    actual = _won_in(world.tables["opportunities"], "2025Q3")
    assert actual > 0
    np.testing.assert_allclose(draws, actual)


def test_oracle_quantiles_cover_the_actuals():
    """Pooled over worlds and quarters, the oracle's P10-P90 holds about 80% of the actuals."""
    pit, inside = [], []
    for name in NAMES:
        world = make_world(name, seed=5, size=0.3)
        for period in pd.period_range("2024Q3", "2026Q1", freq="Q"):
            as_of = (period.start_time - pd.Timedelta(days=1)).date()
            draws = world.oracle(as_of, period, n_sims=300, seed=0)
            assert (draws >= 0).all()
            actual = _won_in(world.tables["opportunities"], str(period))
            lo, hi = np.percentile(draws, [10, 90])
            inside.append(lo <= actual <= hi)
            pit.append((draws < actual).mean() + 0.5 * (draws == actual).mean())
    assert 0.65 <= np.mean(inside) <= 0.95
    assert 0.35 <= np.mean(pit) <= 0.65


def test_write_round_trips_tables_and_truth(tmp_path):
    import duckdb

    world = make_world("no_history", seed=1, size=0.1)
    path = world.write(tmp_path / "crm.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert names == set(world.tables) | {"lead_truth", "world_meta", "call_truth", "activity_truth"}
        truth = con.execute("SELECT * FROM lead_truth").df()
        opps = con.execute("SELECT * FROM opportunities").df()
    pd.testing.assert_frame_equal(opps, world.tables["opportunities"])
    np.testing.assert_array_equal(truth["p_true"].to_numpy(), world.lead_truth.to_numpy())
    assert truth["lead_id"].tolist() == world.tables["leads"]["lead_id"].tolist()
    _, stages = write_world(tmp_path / "out", "no_history", seed=1, size=0.1, formats=("duckdb", "csv"))
    assert (tmp_path / "out" / "leads.csv").exists() and not (tmp_path / "out" / "stage_history.csv").exists()
    assert stages is not None and "Lead In" in stages.read_text()
    assert write_world(tmp_path / "drift", "lead_drift", size=0.05)[1] is None  # default stages: no YAML


def test_bad_world_arguments_raise():
    with pytest.raises(ValueError, match="unknown world 'nope'"):
        make_world("nope")
    with pytest.raises(ValueError, match="size"):
        make_world("rep_bias", size=0)


# --------------------------------------------------------------------------- through the CLI


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Each world written by `forecasting data demo --world NAME` (small size, for speed)."""
    root = tmp_path_factory.mktemp("zoo")
    out = {}
    for name in NAMES:
        assert main(["data", "demo", "--world", name, "--size", "0.2", "--out", str(root / name)]) == 0
        stages = root / name / "crm.stages.yaml"
        out[name] = (root / name / "crm.duckdb", ["--stages", str(stages)] if stages.exists() else [])
    return out


@pytest.mark.parametrize("name", NAMES)
def test_cli_writes_a_world_that_data_check_accepts(written, name, capsys):
    db, stages = written[name]
    kinds = ["leads", "opportunities", "activities", "revenue"] + (["stage_history"] if name != "no_history" else [])
    for kind in kinds:
        extra = stages if kind in ("opportunities", "stage_history") else []
        assert main(["data", "check", kind, f"{db}:{kind}", *extra]) == 0, (name, kind)
    assert "OK: no errors" in capsys.readouterr().out


def test_cli_lists_the_worlds_in_demo_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "demo", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert all(f"  {name} " in text and WORLDS[name] in text for name in NAMES)


def test_cli_refuses_an_unknown_world(tmp_path, capsys):
    assert main(["data", "demo", "--world", "atlantis", "--out", str(tmp_path / "x")]) == 2
    assert "--world 'atlantis' is not a world" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", NAMES)
def test_cli_pipeline_forecast_and_kpis_are_sane_on_every_world(written, name, tmp_path):
    db, stages = written[name]
    history = ["--stage-history", str(db)] if name != "no_history" else []
    assert main(["pipeline", "forecast", "--opportunities", str(db), *history, *stages, "--as-of", "2026-03-31",
                 "--period", "2026Q2", "--sims", "300", "--by", "owner", "--out", str(tmp_path / "fc")]) == 0
    forecast = pd.read_csv(tmp_path / "fc" / "forecast.csv")
    numbers = forecast[["closed_won", "open_pipeline", "weighted", "p10", "p50", "p90"]]
    assert numbers.notna().all().all() and (numbers >= 0).all().all()
    assert (forecast["p10"] <= forecast["p50"]).all() and (forecast["p50"] <= forecast["p90"]).all()
    total = forecast[forecast["group"] == "all"].iloc[0]
    assert total["p90"] > 0
    deals = pd.read_csv(tmp_path / "fc" / "deals.csv")  # p_in_period is NaN by design for the learned method
    assert len(deals) > 0 and deals[["amount", "p_win", "probability", "expected_value"]].notna().all().all()
    assert deals["probability"].between(0, 1).all() and (deals["expected_value"] >= 0).all()

    assert main(["kpis", "--opportunities", str(db), "--leads", str(db), "--activities", str(db), *stages,
                 "--out", str(tmp_path / "kpis")]) == 0
    kpis = pd.read_csv(tmp_path / "kpis" / "kpis.csv")
    closed = kpis["deals_won"] + kpis["deals_lost"] > 0
    assert closed.sum() >= 12
    for column in ("win_rate", "deals_won", "revenue_won", "avg_deal_size", "sales_cycle_days"):
        assert kpis.loc[closed & (kpis["deals_won"] > 0), column].notna().all(), column
    assert kpis["win_rate"].dropna().between(0, 1).all()
    assert (kpis[["revenue_won", "pipeline_created"]].fillna(0) >= 0).all().all()
    opps = load_table("opportunities", f"{db}:opportunities", stages=stages[1] if stages else None)
    won = opps[opps["status"] == "won"]
    assert kpis.loc[kpis["group"] == "all", "revenue_won"].sum() == pytest.approx(won["amount"].sum())


# --------------------------------------------------------------------------- the sales organisation


@pytest.mark.parametrize("name", NAMES)
def test_org_tables_validate_and_hang_together(worlds, name):
    from forecasting.data.validate import check, conform

    world = worlds[name]
    for kind in ("team", "forecast_calls", "targets", "survey"):
        frame, problems = conform(world.tables[kind], kind)
        assert problems == [] and check(frame, kind) == [], (kind, problems)
    team, opps = world.tables["team"], world.tables["opportunities"]
    top = team.loc[team["manager"].isna(), "owner"]
    assert len(top) == 1 and set(team["manager"].dropna()) <= set(team["owner"])
    managers = set(team.loc[team["manager"] == top.iloc[0], "owner"])
    reps = team.loc[team["manager"].isin(managers), "owner"]
    assert 2 <= len(managers) <= 3 and set(reps) == set(opps["owner"]) == set(world.tables["activities"]["owner"])
    calls = world.tables["forecast_calls"]
    assert set(calls["owner"]) <= set(team["owner"]) and not calls.duplicated(["owner", "submitted_at"]).any()
    assert (calls["submitted_at"].dt.to_period("Q").astype(str) == calls["period"]).all()
    assert set(world.tables["targets"]["owner"]) == set(reps)
    assert {"duration_minutes", "responded", "completed"} <= set(world.tables["activities"])
    spend = world.tables["spend"]
    assert set(spend["segment"]) == set(opps["segment"]) and (spend["amount"] > 0).all()
    assert spend["month"].nunique() == 48 and set(spend.columns) == {"month", "source", "segment", "amount"}
    margin = (opps["amount"] - opps["cost"]) / opps["amount"]
    assert margin.between(0.2, 0.6).all() and set(opps["contract_months"]) == {12, 24, 36}
    assert opps.groupby("account_id")["segment"].nunique().max() == 1  # an account stays in its segment
    ordered = opps.sort_values("created_at", kind="stable")
    first = ordered.groupby("account_id")["product"].transform("first")
    again = ordered.groupby("account_id").cumcount() > 0
    assert (again & (ordered["product"] == first)).sum() > 20 and (again & (ordered["product"] != first)).sum() > 20


@pytest.mark.parametrize("name", NAMES)
def test_calls_converge_and_show_each_reps_bias(worlds, name):
    world = worlds[name]
    opps, calls, truth = world.tables["opportunities"], world.tables["forecast_calls"], world.truth["call_truth"]
    won = opps[opps["status"] == "won"]
    actual = won.groupby([won["owner"], won["close_date"].dt.to_period("Q").astype(str)])["amount"].sum()
    reps = calls[calls["owner"].isin(truth["owner"]) & (calls["period"] > calls["period"].min())].copy()
    reps["actual"] = actual.reindex(pd.MultiIndex.from_frame(reps[["owner", "period"]])).to_numpy()
    reps = reps[reps["actual"] > 0]
    week = (reps["submitted_at"] - pd.PeriodIndex(reps["period"], freq="Q").start_time).dt.days // 7
    error = ((reps["commit"] - reps["actual"]).abs() / reps["actual"]).groupby(week.to_numpy()).mean()
    assert error.iloc[:3].mean() > 3 * error.iloc[-3:].mean()
    ratio = (reps["commit"] / reps["actual"]).groupby(reps["owner"]).mean()
    kind = truth.set_index("owner")["behaviour"]
    assert ratio[kind[kind == "sandbagger"].index].max() < 1.0 < ratio[kind[kind == "optimist"].index].min()


def test_the_reps_who_inflate_amounts_also_call_high(worlds):
    world = worlds["rep_bias"]
    truth = world.truth["call_truth"].set_index("owner")
    assert set(truth.index[truth["behaviour"] == "optimist"]) == set(world.properties["biased_owners"])


@pytest.mark.parametrize("name", NAMES)
def test_activity_attainment_differs_by_rep(worlds, name):
    world = worlds[name]
    acts, targets = world.tables["activities"], world.tables["targets"]
    acts = acts[(acts["type"] == "email") & (acts["occurred_at"].dt.day_of_week < 5)]
    per_day = acts.groupby("owner").size() / acts["occurred_at"].dt.normalize().nunique()
    target = targets[targets["type"] == "email"].set_index("owner")["target"]
    attainment = per_day.loc[target.index] / target
    effort = world.truth["activity_truth"].set_index("owner")["effort"].loc[target.index]
    np.testing.assert_allclose(attainment, effort, atol=0.08)
    assert attainment.max() - attainment.min() > 0.2


def test_drawn_shocks_forget_the_current_quarters_shock_only():
    """On a shocked quarter's first day the fair oracle does not know the shock; on its eve both agree."""
    world = make_world("shock_quarters", seed=0, size=0.3)
    shocked = world.properties["shock_quarters"][-1]
    first_day = pd.Period(shocked).start_time
    eve = (first_day - pd.Timedelta(days=1)).date().isoformat()
    np.testing.assert_array_equal(world.oracle(eve, shocked, n_sims=200, seed=3),
                                  world.oracle(eve, shocked, n_sims=200, seed=3, shocks="drawn"))
    known = world.oracle(first_day.date().isoformat(), shocked, n_sims=400, seed=3)
    drawn = world.oracle(first_day.date().isoformat(), shocked, n_sims=400, seed=3, shocks="drawn")
    # The shock lowers every win chance: knowing it moves the median down; not knowing it widens the range.
    assert np.median(known) < 0.8 * np.median(drawn)
    assert np.subtract(*np.percentile(drawn, [90, 10])) > np.subtract(*np.percentile(known, [90, 10]))
    with pytest.raises(ValueError, match="shocks must be"):
        world.oracle(eve, shocked, shocks="future")


@pytest.mark.parametrize("shocks", ["realized", "drawn"])
def test_oracle_mid_quarter_counts_what_is_already_won(worlds, shocks):
    """Deals won by the as-of date count as they are: no draw falls below them, and the median adds the rest."""
    world = worlds["hubspot_slippage"]
    opps = world.tables["opportunities"]
    won = opps[(opps["status"] == "won") & opps["close_date"].between("2025-07-01", "2025-08-15 23:59")]
    so_far = float(won["amount"].sum())
    assert so_far > 0
    draws = world.oracle("2025-08-15", "2025Q3", n_sims=200, seed=0, shocks=shocks)
    assert draws.min() >= so_far - 1e-6
    assert np.median(draws) > so_far
