"""Real CRM exports: each file is the same data as a canonical table, written the way some
tool or locale writes it. Every reader (``data check``, ``load_table``, ``leads score``) must
give the canonical answer or refuse with exit 2 naming the column and the flag (issue 12).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.data import DataError, load_table
from forecasting.data import DataWarning, conform

pytestmark = pytest.mark.usefixtures("quiet_one_thread")

# ---------------------------------------------------------------- rendering (shared with test_reader_properties)

# thousands mark, decimal mark
NUMBER_STYLES = {
    "de": (".", ","), "fr": ("\u00a0", ","), "fr_thin": ("\u202f", ","), "fr_space": (" ", ","),
    "us": (",", "."), "ch": ("'", "."), "plain": ("", "."),
}


def render_amount(x: float, style: str, decimals: int = 2) -> str:
    """``x`` as a spreadsheet in ``style`` writes it: 1234.5 -> ``1.234,50`` (de)."""
    thousands, decimal = NUMBER_STYLES[style]
    whole, _, frac = f"{abs(x):.{decimals}f}".partition(".")
    text = f"{int(whole):,}".replace(",", "\x00").replace("\x00", thousands)
    return ("-" if x < 0 else "") + text + (decimal + frac if decimals else "")


def opportunities(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A canonical opportunities table whose dates include days above 12 and amounts above 1000."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    stage = rng.choice(["Prospecting", "Proposal", "Closed Won", "Closed Lost"], n)
    return pd.DataFrame({
        "opportunity_id": [f"O{i:03d}" for i in range(n)],
        "account_id": [f"A{i % 7:02d}" for i in range(n)],
        "owner": rng.choice(["ana", "bo"], n),
        "amount": np.round(rng.uniform(100, 90_000, n), 2),
        "created_at": created,
        "stage": stage,
        "close_date": created + pd.to_timedelta(rng.integers(1, 120, n), unit="D"),
        "status": pd.Series(stage).map({"Closed Won": "won", "Closed Lost": "lost"}).fillna("open").to_numpy(),
    })


TRUTH = opportunities()


def write(frame: pd.DataFrame, path, *, sep: str = ",", encoding: str = "utf-8", date_format: str | None = None,
          style: str | None = None, amount=None, lineterminator: str = "\n", quoting: int = 0):
    """``frame`` as a CSV export: dates with ``date_format``, amounts in ``style`` (or ``amount(x)``)."""
    out = frame.copy()
    for column in ("created_at", "close_date"):
        if date_format and column in out:
            out[column] = out[column].dt.strftime(date_format)
    if "amount" in out and (style or amount):
        out["amount"] = [amount(x) if amount else render_amount(x, style) for x in out["amount"]]
    out.to_csv(path, sep=sep, index=False, encoding=encoding, lineterminator=lineterminator, quoting=quoting)
    return path


def same_as_truth(loaded: pd.DataFrame, truth: pd.DataFrame = TRUTH) -> None:
    columns = ["opportunity_id", "account_id", "owner", "amount", "created_at", "stage", "close_date", "status"]
    pd.testing.assert_frame_equal(loaded[columns].reset_index(drop=True),
                                  load_table("opportunities", truth)[columns].reset_index(drop=True))


def _refused(capsys, args) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    return captured.out + captured.err


# ---------------------------------------------------------------- dates (defect 1)


def test_day_first_timestamps_read_day_first_on_every_row(tmp_path, capsys):
    # Each value was parsed on its own: 03/04/2025 read as 4 March next to 31/12/2025 read day-first.
    truth = TRUTH.copy()
    truth.loc[0, ["created_at", "close_date"]] = [pd.Timestamp("2024-03-04 10:30"), pd.Timestamp("2024-05-06")]
    path = write(truth, tmp_path / "opps.csv", sep=";", date_format="%d/%m/%Y %H:%M")
    same_as_truth(load_table("opportunities", path), truth)
    assert main(["data", "check", "opportunities", str(path)]) == 0


def test_month_first_dates_read_month_first(tmp_path):
    same_as_truth(load_table("opportunities", write(TRUTH, tmp_path / "o.csv", date_format="%m/%d/%Y")))


def test_ambiguous_slashed_dates_are_refused_naming_column_sample_and_flag(tmp_path, capsys):
    early = TRUTH.assign(created_at=pd.Timestamp("2025-03-04"), close_date=pd.Timestamp("2025-05-06"))
    path = write(early, tmp_path / "o.csv", date_format="%d/%m/%Y")
    err = _refused(capsys, ["data", "check", "opportunities", str(path)])
    assert "opportunities.created_at" in err and "'04/03/2025'" in err and "--dayfirst" in err
    assert "--date-format" in err
    same_as_truth(load_table("opportunities", path, dayfirst=True), early)
    same_as_truth(load_table("opportunities", path, date_format="%d/%m/%Y"), early)
    assert main(["data", "check", "opportunities", str(path), "--dayfirst"]) == 0
    capsys.readouterr()
    # --monthfirst reads the other way round: 4 March -> 3 April.
    flipped = load_table("opportunities", path, dayfirst=False)
    assert flipped["created_at"].iloc[0] == pd.Timestamp("2025-04-03")


def test_a_column_mixing_day_first_and_month_first_is_refused(tmp_path, capsys):
    frame = TRUTH.head(2).assign(created_at=["31/12/2025", "12/31/2025"], close_date="2026-01-31")
    frame.to_csv(tmp_path / "o.csv", index=False)
    err = _refused(capsys, ["data", "check", "opportunities", str(tmp_path / "o.csv")])
    assert "created_at: mixes day-first and month-first" in err and "--date-format" in err


def test_unparsable_value_in_a_clear_column_is_still_named_with_its_row(tmp_path):
    frame = TRUTH.head(3).assign(created_at=["31/12/2024", "soon", "01/02/2025"],
                                 close_date=["31/01/2025"] * 3)
    with pytest.raises(DataError, match=r"created_at: has values that are not dates \(rows: O001\)"):
        load_table("opportunities", frame)


# ---------------------------------------------------------------- time zones (defect 5)


def test_timestamp_with_offset_keeps_its_local_calendar_date(tmp_path):
    # Converted to UTC, 2022-07-01T00:00:00+02:00 became 30 June: every month lost its first day.
    frame = TRUTH.head(3).assign(created_at=["2022-07-01T00:00:00+02:00", "2022-08-01T23:30:00-05:00",
                                             "2022-09-01T00:00:00Z"], close_date="2022-12-31")
    loaded = load_table("opportunities", write(frame, tmp_path / "o.csv"))
    assert loaded["created_at"].tolist() == [pd.Timestamp("2022-07-01"), pd.Timestamp("2022-08-01 23:30"),
                                             pd.Timestamp("2022-09-01")]


def test_timezone_aware_frame_keeps_its_wall_time():
    frame = TRUTH.head(1).assign(created_at=pd.Timestamp("2022-07-01 00:00", tz="Europe/Berlin"))
    assert load_table("opportunities", frame)["created_at"].iloc[0] == pd.Timestamp("2022-07-01")


# ---------------------------------------------------------------- numbers (defect 2)


def test_european_thousands_separator_is_not_read_as_decimal(tmp_path, capsys):
    # "26.900" (26,900 EUR) in a ;-separated export used to load as 26.9: 1000x too small.
    frame = TRUTH.assign(amount=np.round(TRUTH["amount"]))
    path = write(frame, tmp_path / "o.csv", sep=";", style="de")  # 26.900,00 ... every value proves ','
    assert load_table("opportunities", path)["amount"].tolist() == frame["amount"].tolist()
    whole = write(frame, tmp_path / "whole.csv", sep=";", amount=lambda x: render_amount(x, "de", 0))
    err = _refused(capsys, ["data", "check", "opportunities", str(whole)])
    assert "opportunities.amount: has ambiguous numbers" in err and "--decimal" in err
    assert load_table("opportunities", whole, decimal=",")["amount"].tolist() == frame["amount"].tolist()
    assert main(["data", "check", "opportunities", str(whole), "--decimal", ","]) == 0


def test_another_column_of_the_file_settles_the_decimal_mark(tmp_path):
    frame = TRUTH.assign(amount=[26900.0] * len(TRUTH), probability="0,25")
    path = write(frame, tmp_path / "o.csv", sep=";", amount=lambda x: render_amount(x, "de", 0))
    loaded = load_table("opportunities", path)
    assert loaded["amount"].eq(26900).all() and loaded["probability"].eq(0.25).all()


def test_percent_sign_in_an_amount_is_refused(tmp_path, capsys):
    path = write(TRUTH, tmp_path / "o.csv", amount=lambda x: f"{x:.0f}%")
    err = _refused(capsys, ["data", "check", "opportunities", str(path)])
    assert "opportunities.amount: has percent signs" in err


def test_mixed_decimal_marks_in_one_column_are_refused():
    frame = TRUTH.head(2).assign(amount=["1.234,50", "1,234.50"])
    with pytest.raises(DataError, match="amount: mixes decimal marks"):
        load_table("opportunities", frame)


# ---------------------------------------------------------------- 15+ export variants of the same table

VARIANTS = {
    "iso_plain": {},
    "excel_us": dict(date_format="%m/%d/%Y %I:%M %p", style="us"),
    "german_semicolon": dict(sep=";", date_format="%d.%m.%Y", style="de"),
    "french_nbsp": dict(sep=";", date_format="%d/%m/%Y", style="fr"),
    "french_thin_space": dict(sep=";", date_format="%d/%m/%Y %H:%M", style="fr_thin"),
    "french_plain_space": dict(sep=";", date_format="%d/%m/%Y", style="fr_space"),
    "swiss_apostrophe": dict(date_format="%d.%m.%Y", style="ch"),
    "two_digit_years_day_first": dict(date_format="%d/%m/%y"),
    "two_digit_years_month_first": dict(date_format="%m/%d/%y"),
    "dashed_day_first": dict(date_format="%d-%m-%Y"),
    "year_slash": dict(date_format="%Y/%m/%d"),
    "iso_utc_z": dict(date_format="%Y-%m-%dT%H:%M:%SZ"),
    "utf8_bom_crlf": dict(encoding="utf-8-sig", lineterminator="\r\n"),
    "utf16_bom_tab": dict(encoding="utf-16", sep="\t", date_format="%d/%m/%Y", style="de"),
    "cp1252_semicolon": dict(encoding="cp1252", sep=";", style="de", amount=lambda x: f"{render_amount(x, 'de')} €"),
    "latin1_quoted_all": dict(encoding="latin-1", quoting=1, date_format="%d.%m.%Y %H:%M"),
    "currency_code_prefix": dict(amount=lambda x: f"EUR {render_amount(x, 'de')}", sep=";"),
    "dollar_prefix": dict(amount=lambda x: f"${render_amount(x, 'us')}"),
    "pipe_separated": dict(sep="|", style="us"),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_export_variant_reads_as_the_canonical_table(variant, tmp_path):
    path = write(TRUTH, tmp_path / f"{variant}.csv", **VARIANTS[variant])
    same_as_truth(load_table("opportunities", path))


def test_export_variants_pass_data_check_through_the_cli(tmp_path, capsys):
    for variant in ("utf16_bom_tab", "cp1252_semicolon", "french_nbsp", "excel_us"):
        path = write(TRUTH, tmp_path / f"{variant}.csv", **VARIANTS[variant])
        assert main(["data", "check", "opportunities", str(path)]) == 0, variant
        captured = capsys.readouterr()
        total = next(line for line in (captured.out + captured.err).splitlines() if "amount_total" in line)
        assert float(total.split(":")[1]) == pytest.approx(TRUTH["amount"].sum(), abs=0.01), variant


# ---------------------------------------------------------------- leads: labels, ids, features, scoring


def leads_truth(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "lead_id": [f"{i:05d}" for i in range(n)],  # leading zeros
        "created_at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        "deal_size": np.round(rng.uniform(500, 50_000, n), 1),
        "converted": rng.integers(0, 2, n),
    })


@pytest.mark.parametrize("yes,no", [("TRUE", "FALSE"), ("Yes", "No"), ("1.0", "0.0"), ("y", "n")])
def test_excel_style_labels_read_as_0_1(yes, no, tmp_path):
    truth = leads_truth()
    raw = truth.assign(converted=np.where(truth["converted"] == 1, yes, no))
    raw.to_csv(tmp_path / "l.csv", index=False)
    assert load_table("leads", tmp_path / "l.csv")["converted"].tolist() == truth["converted"].tolist()


def test_ids_keep_leading_zeros_under_a_mapped_name_and_float_ids_lose_their_point(tmp_path):
    truth = leads_truth()
    truth.rename(columns={"lead_id": "Lead ID"}).to_csv(tmp_path / "l.csv", index=False)
    loaded = load_table("leads", tmp_path / "l.csv", {"Lead ID": "lead_id"})
    assert loaded["lead_id"].tolist() == truth["lead_id"].tolist()
    floats = truth.assign(lead_id=[f"{i}.0" for i in range(len(truth))])
    assert load_table("leads", floats)["lead_id"].tolist() == [str(i) for i in range(len(truth))]


def test_locale_number_feature_becomes_a_number_not_a_category(tmp_path):
    truth = leads_truth()
    raw = truth.assign(deal_size=[render_amount(x, "de", 1) for x in truth["deal_size"]])
    raw.to_csv(tmp_path / "l.csv", index=False, sep=";")
    loaded = load_table("leads", tmp_path / "l.csv")
    assert loaded["deal_size"].dtype == float and loaded["deal_size"].tolist() == truth["deal_size"].tolist()


def test_leads_feature_with_ambiguous_numbers_is_refused(tmp_path):
    raw = leads_truth().assign(deal_size="12.500")
    with pytest.raises(DataError, match=r"leads.deal_size: has ambiguous numbers.*--decimal"):
        load_table("leads", raw)


@pytest.fixture(scope="module")
def scoring_file(leads, tmp_path_factory):
    """The fixture leads as a European CRM exports them: ``Lead ID``, ;-separated, day-first times."""
    folder = tmp_path_factory.mktemp("export")
    raw = leads.rename(columns={"lead_id": "Lead ID"}).assign(
        created_at=leads["created_at"].dt.strftime("%d/%m/%Y %H:%M"),
        company_size=[render_amount(x, "de", 1) if pd.notna(x) else "" for x in leads["company_size"]])
    raw.to_csv(folder / "leads.csv", index=False, sep=";")
    return folder / "leads.csv", raw


def test_score_refuses_a_file_without_the_id_column_instead_of_inventing_ids(scoring_file, model_dir, tmp_path,
                                                                            capsys):
    # It used to exit 0 writing ids 0, 1, 2... restarting in every chunk.
    path, raw = scoring_file
    for name in ("Lead ID", "Id"):
        renamed = tmp_path / f"{name}.csv"
        raw.rename(columns={"Lead ID": name}).to_csv(renamed, index=False, sep=";")
        err = _refused(capsys, ["leads", "score", str(renamed), "--model", str(model_dir),
                                "--out", str(tmp_path / "s.csv")])
        assert "leads.lead_id: is required to score" in err and "--map" in err and name in err
    assert not (tmp_path / "s.csv").exists()


def test_score_with_mapped_ids_writes_the_files_ids_in_every_chunk(scoring_file, model_dir, leads, tmp_path):
    path, _ = scoring_file
    out = tmp_path / "s.csv"
    assert main(["leads", "score", str(path), "--model", str(model_dir), "--out", str(out),
                 "--map", "Lead ID=lead_id", "--chunksize", "97"]) == 0
    scored = pd.read_csv(out, dtype={"lead_id": str})
    assert scored["lead_id"].tolist() == leads["lead_id"].tolist()


def test_score_reads_utf16_and_locale_numbers_exactly_as_the_canonical_frame(scoring_file, model_dir, leads,
                                                                             tmp_path):
    from forecasting.leads import load_model

    path, raw = scoring_file
    utf16 = tmp_path / "utf16.csv"
    raw.to_csv(utf16, index=False, sep=";", encoding="utf-16")
    out = tmp_path / "s.csv"
    assert main(["leads", "score", str(utf16), "--model", str(model_dir), "--out", str(out),
                 "--map", "Lead ID=lead_id", "--chunksize", "50"]) == 0
    expected = load_model(model_dir).score(load_table("leads", leads))
    scored = pd.read_csv(out, dtype={"lead_id": str})
    np.testing.assert_allclose(scored["score"], expected["score"], rtol=1e-9)


def test_score_settles_formats_on_the_first_chunk_for_every_chunk(model_dir, leads, tmp_path):
    # Chunk 2 on its own would be ambiguous (days <= 12); the first chunk proved day-first.
    frame = leads.head(40).copy()
    frame["created_at"] = [pd.Timestamp("2025-01-20")] * 20 + [pd.Timestamp("2025-03-04")] * 20
    frame.assign(created_at=frame["created_at"].dt.strftime("%d/%m/%Y")).to_csv(tmp_path / "l.csv", index=False)
    assert main(["leads", "score", str(tmp_path / "l.csv"), "--model", str(model_dir), "--out",
                 str(tmp_path / "s.csv"), "--chunksize", "20"]) == 0


def test_model_card_missing_a_feature_is_bad_input_not_a_crash(model_dir, scoring_file, tmp_path, capsys):
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    card = json.loads((broken / "card.json").read_text())
    dropped = next(iter(card["features"]))
    del card["features"][dropped]
    (broken / "card.json").write_text(json.dumps(card))
    path, _ = scoring_file
    err = _refused(capsys, ["leads", "score", str(path), "--model", str(broken), "--out", str(tmp_path / "s.csv"),
                            "--map", "Lead ID=lead_id"])
    assert f"model.{dropped}: is read by the model's estimator but missing" in err


# ---------------------------------------------------------------- one reader for every command (defect 13)


def test_utf16_file_reads_the_same_in_data_check_and_load_table(tmp_path, capsys):
    path = write(TRUTH, tmp_path / "o.csv", encoding="utf-16")
    same_as_truth(load_table("opportunities", path))
    assert main(["data", "check", "opportunities", str(path)]) == 0
    assert "opportunity_id" not in capsys.readouterr().err  # no garbled header complaint


def test_train_reads_a_latin1_semicolon_export_like_data_check(leads, tmp_path):
    raw = leads.assign(industry=leads["industry"].str.replace("ind1", "Bäckerei"))
    raw.to_csv(tmp_path / "l.csv", index=False, sep=";", encoding="latin-1")
    loaded = load_table("leads", tmp_path / "l.csv")
    assert "Bäckerei" in set(loaded["industry"]) and len(loaded) == len(leads)
    assert main(["leads", "train", str(tmp_path / "l.csv"), "--model", "logistic", "--out", str(tmp_path / "m")]) == 0


# ---------------------------------------------------------------- contract friction (issue 13)


def test_status_is_derived_from_closed_stages_when_absent_or_blank():
    frame = TRUTH.drop(columns="status")
    same_as_truth(load_table("opportunities", frame))
    blank = TRUTH.assign(status=np.where(TRUTH.index % 2 == 0, "", TRUTH["status"]))
    same_as_truth(load_table("opportunities", blank))


def test_status_derivation_follows_configured_closed_stage_names():
    frame = TRUTH.drop(columns="status").assign(stage=TRUTH["stage"].replace({"Closed Won": "Signed"}))
    stages = {"open": ["Prospecting", "Proposal"], "won": "Signed"}
    loaded = load_table("opportunities", frame, stages=stages)
    assert loaded["status"].tolist() == TRUTH["status"].tolist()


def test_two_maps_for_one_column_are_refused(tmp_path, capsys):
    path = write(TRUTH, tmp_path / "o.csv")
    err = _refused(capsys, ["data", "check", "opportunities", str(path), "--map", "owner=owner",
                            "--map", "owner=account_id"])
    assert "map.owner: is mapped more than once" in err


def test_unknown_status_values_are_named():
    frame = TRUTH.assign(status=np.where(TRUTH.index < 2, "pending", TRUTH["status"]))
    with pytest.raises(DataError, match="status: has values other than open / won / lost: 'pending'"):
        load_table("opportunities", frame)


def test_open_deal_without_close_date_is_a_warning_naming_it():
    frame = TRUTH.assign(close_date=TRUTH["close_date"].where(TRUTH["status"] != "open"))
    first_open = TRUTH.loc[TRUTH["status"] == "open", "opportunity_id"].iloc[0]
    with pytest.warns(DataWarning, match=f"close_date: is missing for open deals.*{first_open}"):
        load_table("opportunities", frame)


def test_conform_accepts_the_same_reading_options():
    frame, problems = conform(TRUTH.assign(created_at="03/04/2025").astype({"created_at": object}),
                              "opportunities", dayfirst=True)
    assert not [p for p in problems if p.severity == "error"]
    assert frame["created_at"].iloc[0] == pd.Timestamp("2025-04-03")


def test_data_check_and_load_table_refuse_the_same_problems(tmp_path):
    from forecasting.data import check_source

    bad = {
        "ambiguous": TRUTH.assign(created_at="03/04/2025", close_date="05/06/2025"),
        "thousands": TRUTH.assign(amount="26.900"),
        "mixed_dates": TRUTH.assign(created_at=np.where(TRUTH.index % 2 == 0, "2025-01-31", "31/01/2025")),
    }
    for name, frame in bad.items():
        path = write(frame, tmp_path / f"{name}.csv")
        with pytest.raises(DataError) as raised:
            load_table("opportunities", path)
        checked = [p for p in check_source("opportunities", path).problems if p.severity == "error"]
        assert checked == raised.value.problems, name


def test_a_file_that_does_not_decode_names_the_encoding(tmp_path, capsys):
    path = tmp_path / "o.csv"
    path.write_bytes("opportunity_id,amount\nO1,5\n".encode("utf-16") + b"\x00")  # odd byte count
    err = _refused(capsys, ["data", "check", "opportunities", str(path)])
    assert "utf-16" in err and "Traceback" not in err
