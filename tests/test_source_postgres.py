"""PostgreSQL sources read through SQLAlchemy give what DuckDB gives for the same data.

The demo CRM (2,000 leads) is written once to a DuckDB file and once to a real
PostgreSQL server (``postgres_url``: a throw-away server, see postgres_server.py)
with the types a warehouse uses: NUMERIC amounts (psycopg returns ``Decimal``),
TIMESTAMPTZ events read in a New York session (offsets change with DST), DATE
close dates, a BOOLEAN label, text ids with leading zeros.
"""

from __future__ import annotations

import os
import warnings

import pandas as pd
import pytest
import sqlalchemy as sa
from threadpoolctl import threadpool_limits

from forecasting.cli import main
from forecasting.data import DataError, load_table, read_source
from forecasting.data.demo import make_demo
from forecasting.data.io import iter_sql, parse_source, write_duckdb
from forecasting.data.schema import KINDS
from forecasting.data.validate import DataWarning
from postgres_server import ENV

EXTRAS = ("accounts", "spend", "quotas")  # read raw by `forecasting kpis`
DATES = {"close_date", "date", "month", "customer_since", "churned_at"}  # days: PostgreSQL DATE
# Reads run in a session whose time zone has DST: TIMESTAMPTZ values come back with
# -05:00 and -04:00 offsets and must still land on the same UTC instants as in DuckDB.
NEW_YORK = {"options": "-c TimeZone=America/New_York"}


@pytest.fixture(autouse=True)
def _quiet_one_thread():
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        yield


def _demo() -> dict[str, pd.DataFrame]:
    tables = make_demo(seed=0, n_leads=2_000)
    tables = {name: tables[name].copy() for name in (*KINDS, *EXTRAS)}
    for frame in tables.values():
        for column in ("amount", "quota"):
            if column in frame.columns:  # a warehouse keeps cents: NUMERIC(14, 2)
                frame[column] = (frame[column] * 100).round() / 100
        for column in ("lead_id",):  # ids that only survive as text: "000042"
            if column in frame.columns:
                frame[column] = frame[column].str.removeprefix("L")
    return tables


def _pg_type(column: str, series: pd.Series) -> str:
    if column in ("amount", "quota"):
        return "NUMERIC(14, 2)"
    if column in DATES:
        return "DATE"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "TIMESTAMPTZ"
    if pd.api.types.is_bool_dtype(series) or column == "converted":
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "INTEGER"
    if pd.api.types.is_float_dtype(series):
        return "NUMERIC"  # arbitrary precision: Decimal(repr(x)) is x again
    return "TEXT"


def load_postgres(url: str, tables: dict[str, pd.DataFrame]) -> None:
    """CREATE TABLE with PostgreSQL types and COPY each frame in (UTC session)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as con:
            con.exec_driver_sql("SET TimeZone = 'UTC'")
            cursor = con.connection.driver_connection.cursor()
            for name, frame in tables.items():
                columns = ", ".join(f"{c} {_pg_type(c, frame[c])}" for c in frame.columns)
                con.exec_driver_sql(f"DROP TABLE IF EXISTS {name} CASCADE")
                con.exec_driver_sql(f"CREATE TABLE {name} ({columns})")
                with cursor.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
                    copy.write(frame.to_csv(index=False, header=False))
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as con:
            for statement in statements:
                con.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def crm(postgres_url, tmp_path_factory):
    """(PostgreSQL URL read in a New York session, DuckDB file) holding the same demo CRM."""
    tables = _demo()
    load_postgres(postgres_url, tables)
    duck = write_duckdb(tables, tmp_path_factory.mktemp("duckdb") / "crm.duckdb")
    pg = sa.make_url(postgres_url).update_query_dict(NEW_YORK).render_as_string(hide_password=False)
    return pg, str(duck)


# --- every canonical table, a query, a schema, case-folded names ----------------------------


def test_the_driver_sees_warehouse_types_in_a_new_york_session(crm):
    import datetime
    import decimal

    pg, _ = crm
    engine = sa.create_engine(pg)
    try:
        with engine.connect() as con:
            amount, close, created = con.execute(sa.text(
                "SELECT amount, close_date, created_at FROM opportunities WHERE close_date IS NOT NULL "
                "LIMIT 1")).one()
            offsets = {r[0].utcoffset() for r in con.execute(sa.text("SELECT occurred_at FROM activities"))}
            label = con.execute(sa.text("SELECT converted FROM leads LIMIT 1")).scalar()
    finally:
        engine.dispose()
    assert isinstance(amount, decimal.Decimal) and type(close) is datetime.date and isinstance(label, bool)
    assert offsets == {datetime.timedelta(hours=-5), datetime.timedelta(hours=-4)} and created.tzinfo


@pytest.mark.parametrize("kind", KINDS)
def test_every_canonical_table_loads_the_same_from_postgres_and_duckdb(crm, kind):
    pg, duck = crm
    expected = load_table(kind, f"{duck}:{kind}")
    got = load_table(kind, f"{pg}#{kind}")
    pd.testing.assert_frame_equal(got, expected)
    if kind == "leads":  # text ids kept their zeros, the BOOLEAN label is 0/1
        assert got["lead_id"].iloc[41] == "000042"
        assert got["converted"].dtype == "int64" and got["converted"].sum() == expected["converted"].sum()


def test_a_query_source_with_casts_and_like_reads_the_same(crm):
    pg, duck = crm
    # `::` casts and a `%` pattern: neither may be taken for a bind parameter.
    query = ("SELECT * FROM opportunities WHERE status = 'won' AND amount::float > 20000 "
             "AND owner LIKE '%a%' ORDER BY opportunity_id")
    got = load_table("opportunities", f"{pg}#{query}")
    expected = load_table("opportunities", f"{duck}:{query}")
    assert 0 < len(got) < 1_000
    pd.testing.assert_frame_equal(got, expected)


def test_schema_qualified_and_case_folded_table_names(crm, postgres_url):
    pg, duck = crm
    execute(postgres_url,
            "DROP SCHEMA IF EXISTS sales CASCADE", "CREATE SCHEMA sales",
            "CREATE TABLE sales.deals AS SELECT * FROM opportunities",
            # Unquoted, PostgreSQL folds the name to lower case; quoted, it keeps it.
            "DROP TABLE IF EXISTS DealsExport", "CREATE TABLE DealsExport AS SELECT * FROM opportunities",
            'DROP TABLE IF EXISTS "Pipeline"', 'CREATE TABLE "Pipeline" AS SELECT * FROM opportunities')
    expected = load_table("opportunities", f"{duck}:opportunities")
    for name in ("sales.deals", "Sales.Deals", "DealsExport", "dealsexport", "Pipeline"):
        pd.testing.assert_frame_equal(load_table("opportunities", f"{pg}#{name}"), expected)
    with pytest.raises(DataError, match="'pipeline' not found"):  # "Pipeline" is not folded
        load_table("opportunities", f"{pg}#pipeline")
    with pytest.raises(DataError, match=r"'public.deals' not found .*schema 'public'.*dealsexport"):
        load_table("opportunities", f"{pg}#public.deals")


def test_extra_tables_read_raw_the_same(crm):
    pg, duck = crm
    for name in EXTRAS:
        got, expected = read_source(f"{pg}#{name}", kind=name), read_source(f"{duck}:{name}", kind=name)
        assert list(got.columns) == list(expected.columns)
        for column in got.columns:  # DATE comes back as datetimes, NUMERIC as floats
            assert got[column].tolist() == expected[column].tolist(), (name, column)


# --- chunks: dtypes do not depend on which rows a chunk holds -------------------------------


def test_chunks_of_a_table_keep_declared_types_when_a_chunk_is_all_null(postgres_url):
    execute(postgres_url,
            "DROP TABLE IF EXISTS sparse",
            "CREATE TABLE sparse (id TEXT, amount NUMERIC(10, 2), size DOUBLE PRECISION, visits INTEGER, "
            "due DATE, seen TIMESTAMPTZ)",
            "INSERT INTO sparse VALUES ('007', NULL, NULL, NULL, NULL, NULL), ('008', NULL, NULL, 1, NULL, NULL), "
            "('009', 12.34, 0.5, NULL, '2025-03-31', '2025-03-31 12:00:00+00')")
    chunks = list(iter_sql(parse_source(f"{postgres_url}#sparse"), "leads", chunksize=2))
    assert [len(c) for c in chunks] == [2, 1]
    for chunk in chunks:  # each chunk lacks any value in some column
        assert chunk["amount"].dtype == chunk["size"].dtype == chunk["visits"].dtype == "float64"
        assert pd.api.types.is_datetime64_any_dtype(chunk["due"])
        assert pd.api.types.is_datetime64_any_dtype(chunk["seen"])
    assert chunks[0]["id"].tolist() == ["007", "008"]
    assert chunks[1]["amount"].iloc[0] == 12.34 and chunks[0]["visits"].iloc[1] == 1
    assert chunks[1]["due"].iloc[0] == pd.Timestamp("2025-03-31")


def test_leads_score_reads_postgres_in_chunks_and_scores_as_duckdb(crm, tmp_path):
    from forecasting.leads import train_model

    pg, duck = crm
    model = train_model(load_table("leads", f"{duck}:leads"), "logistic", n_boot=20)
    model_dir = model.save(tmp_path / "model")
    for name, source in (("pg", f"{pg}#leads"), ("duck", f"{duck}:leads")):
        code = main(["leads", "score", source, "--model", str(model_dir), "--chunksize", "700",
                     "--out", str(tmp_path / name / "scores.csv")])
        assert code == 0
    got, expected = (pd.read_csv(tmp_path / n / "scores.csv", dtype={"lead_id": str}) for n in ("pg", "duck"))
    assert len(got) == 2_000 and got["lead_id"].iloc[0] == "000001"
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "pg" / "scores.drift.csv"),
                                  pd.read_csv(tmp_path / "duck" / "scores.drift.csv"))


# --- the CLI end to end -----------------------------------------------------------------------


def test_kpis_from_postgres_equal_kpis_from_duckdb(crm, tmp_path):
    pg, duck = crm
    for name, at in (("pg", lambda t: f"{pg}#{t}"), ("duck", lambda t: f"{duck}:{t}")):
        args = ["kpis", "--by", "owner", "--out", str(tmp_path / name)]
        for table in ("opportunities", "leads", "activities", *EXTRAS):
            args += [f"--{table}", at(table)]
        assert main(args) == 0
    got = (tmp_path / "pg" / "kpis.csv").read_text()
    assert got == (tmp_path / "duck" / "kpis.csv").read_text()
    assert len(got.splitlines()) > 50


# --- bad input: exit 2, the table named, no traceback, no password --------------------------


def test_missing_table_names_it_and_lists_the_tables(crm, postgres_url, capsys):
    url = sa.make_url(postgres_url)
    if url.password is None and not os.environ.get(ENV):
        url = url.set(password="s3cret")  # the throw-away server trusts loopback: ignored
    password, url = url.password, url.render_as_string(hide_password=False)
    with pytest.raises(DataError, match=r"leads: table 'nope' not found in .*it has: .*opportunities"):
        load_table("leads", f"{url}#nope")
    assert main(["data", "check", "leads", f"{url}#nope"]) == 2
    err = capsys.readouterr().out  # the report
    assert "'nope' not found" in err and "Traceback" not in err
    if password:  # only the user's own argument is echoed, never in a message
        assert password not in err.replace(f"{url}#nope", "")


@pytest.mark.parametrize("name", ['leads; DROP TABLE leads', 'leads"--', "leads where 1=1", "a.b.c"])
def test_sql_text_in_a_table_name_is_refused_before_reaching_the_server(crm, postgres_url, name, capsys):
    pg, _ = crm
    with pytest.raises(DataError, match="^leads: table name .* is not a plain identifier"):
        load_table("leads", f"{pg}#{name}")
    assert main(["data", "check", "leads", f"{pg}#{name}"]) == 2
    err = capsys.readouterr().out  # the report
    assert "ERROR leads: table name" in err and "Traceback" not in err
    assert len(read_source(f"{postgres_url}#leads", kind="leads")) == 2_000  # still there


def test_unreachable_server_and_failing_query_are_data_errors(crm, postgres_url):
    pg, _ = crm
    dead = sa.make_url(postgres_url).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
    with pytest.raises(DataError, match="leads: cannot read .*:1/"):
        load_table("leads", f"{dead}#leads")
    with pytest.raises(DataError, match='column "no_such_column" does not exist'):
        load_table("leads", f"{pg}#SELECT no_such_column FROM leads")


def test_bare_postgresql_url_uses_the_installed_driver(crm):
    pg, duck = crm
    bare = pg.replace("postgresql+psycopg://", "postgresql://")
    pd.testing.assert_frame_equal(load_table("revenue", f"{bare}#revenue"),
                                  load_table("revenue", f"{duck}:revenue"))



# --- query SOURCEs only read: one statement, READ ONLY transaction ---------------------------


@pytest.fixture()
def victims(crm, postgres_url) -> str:
    execute(postgres_url, "DROP TABLE IF EXISTS victims", "CREATE TABLE victims AS SELECT * FROM leads",
            # One SELECT can still write through a function it calls.
            "CREATE OR REPLACE FUNCTION purge() RETURNS integer LANGUAGE plpgsql AS "
            "$$ BEGIN DELETE FROM victims; RETURN 1; END $$")
    return postgres_url


def _victims(url: str) -> int:
    return len(read_source(f"{url}#victims", kind="leads"))


def test_several_statements_are_refused_before_reaching_the_server(crm, victims, capsys):
    # Before: every statement ran (the table was dropped) and `data check` printed OK.
    pg, _ = crm
    query = "SELECT * FROM leads; DROP TABLE victims; COMMIT"
    assert main(["data", "check", "leads", f"{pg}#{query}"]) == 2
    assert "one SELECT statement, found 3" in capsys.readouterr().out
    assert _victims(victims) == 2_000
    dead = sa.make_url(pg).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
    with pytest.raises(DataError, match="one SELECT statement"):  # not "cannot connect": never sent
        load_table("leads", f"{dead}#{query}")


@pytest.mark.parametrize("command", ["data check", "leads score"])
def test_a_single_statement_that_writes_fails_in_the_read_only_transaction(crm, victims, tmp_path, capsys, command):
    pg, duck = crm
    query = "SELECT * FROM leads WHERE purge() = 1"
    if command == "data check":
        argv = ["data", "check", "leads", f"{pg}#{query}"]
    else:
        from forecasting.leads import train_model

        model = train_model(load_table("leads", f"{duck}:leads").head(400), "logistic", n_boot=10,
                            calibration="none").save(tmp_path / "model")
        argv = ["leads", "score", f"{pg}#{query}", "--model", str(model), "--out", str(tmp_path / "out" / "s.csv")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "read-only transaction" in captured.out + captured.err
    assert _victims(victims) == 2_000 and not (tmp_path / "out").exists()
