"""The free-SQL guard: allow-listed read-only queries over visible tables; everything else refused with a reason.
Includes hypothesis properties (arbitrary text never crashes the guard; disguised statements stay refused)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudmonitor_pipelines.query.guard import MAX_SQL_CHARS, SqlRefused, check_sql

VISIBLE = ("costs", "cost_daily", "resource_costs")

ACCEPTED = [
    "SELECT BillingCurrency, sum(EffectiveCost) FROM costs GROUP BY 1",
    "select * from COSTS limit 5;",
    "WITH m AS (SELECT * FROM cost_daily WHERE billing_month = '2026-10') SELECT service_name FROM m",
    "SELECT a.resource_id FROM resource_costs a JOIN cost_daily b ON a.sub_account_id = b.sub_account_id",
    "SELECT regexp_match(Tags, '\"env\":\"([^\"]*)\"')[1] AS env, count(*) FROM costs GROUP BY 1",
    "SELECT charge_date, sum(effective_cost) OVER (PARTITION BY billing_currency ORDER BY charge_date) FROM cost_daily",
    "SELECT CAST(ChargePeriodStart AS DATE), x::double precision FROM costs WHERE x IN (SELECT 1) UNION ALL "
    "SELECT NULL, 2 FROM costs",
    "SELECT 1 -- a comment mentioning COPY and read_parquet('/etc/passwd')",
]

REFUSED = {
    "select * from read_parquet('/etc/passwd')": "only table names",
    "SELECT * FROM '/tmp/other/costs'": "not visible",
    'SELECT * FROM "/tmp/other-tenant/costs"': "not visible",
    "SELECT * FROM other.costs": "qualified",
    "SELECT * FROM datafusion.public.costs": "qualified",
    "SELECT * FROM read_log": "not visible",
    "SELECT * FROM agent_log": "not visible",
    "COPY (SELECT 1) TO '/tmp/x.parquet'": "COPY",
    "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/tmp/fabrikam/costs'": "CREATE",
    "CREATE TABLE x AS SELECT * FROM costs": "CREATE",
    "CREATE VIEW v AS SELECT 1": "CREATE",
    "INSERT INTO costs SELECT * FROM costs": "INSERT",
    "DELETE FROM costs": "DELETE",
    "UPDATE costs SET BilledCost = 0": "UPDATE",
    "DROP TABLE costs": "DROP",
    "SET datafusion.execution.batch_size = 1": "SET",
    "SELECT 1; SELECT 2": "exactly one statement",
    "SELECT * FROM generate_series(1, 1000000000)": "only table names",
    "SELECT * FROM costs, range(1, 1000000000)": "only table names",
    "SELECT unnest(range(1, 1000000000))": "not allowed",
    "SELECT repeat('x', 2000000000)": "not allowed",
    "ATTACH 'x.db' AS x": "",
    "LOAD 'httpfs'": "",
    "INSTALL delta": "",
    "PRAGMA x": "",
    "EXPLAIN SELECT 1": "",
    "": "empty",
}


@pytest.mark.parametrize("sql", ACCEPTED)
def test_read_only_queries_are_accepted(sql):
    checked = check_sql(sql, VISIBLE)
    assert not checked.sql.endswith(";")
    assert set(checked.tables) <= set(VISIBLE)


@pytest.mark.parametrize(("sql", "reason"), REFUSED.items())
def test_hostile_sql_is_refused_with_a_reason(sql, reason):
    with pytest.raises(SqlRefused) as err:
        check_sql(sql, VISIBLE)
    assert reason in str(err.value)


def test_oversized_query_is_refused_before_parsing():
    with pytest.raises(SqlRefused, match="characters"):
        check_sql("SELECT 1 " + " " * MAX_SQL_CHARS, VISIBLE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_is_accepted_or_refused_never_crashes(text):
    try:
        checked = check_sql(text, VISIBLE)
    except SqlRefused:
        return
    assert set(checked.tables) <= set(VISIBLE)


_SEPARATORS = st.sampled_from([" ", "\n", "\t", " /* x */ ", "  "])
_FORBIDDEN = st.sampled_from([
    "COPY (SELECT 1) TO '/tmp/x'", "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
    "INSERT INTO costs VALUES (1)", "DROP TABLE costs", "CREATE TABLE t AS SELECT 1", "SET x = 1",
])


@settings(max_examples=200, deadline=None)
@given(_FORBIDDEN, _SEPARATORS, st.booleans(), st.sampled_from(["", ";", "; SELECT 1", "SELECT 1;"]))
def test_disguised_statements_stay_refused(statement, separator, upper, around):
    text = statement.upper() if upper else statement.lower().replace("'/tmp/x'", "'/tmp/x'")
    text = text.replace(" ", separator)
    candidates = [text, text + around, around + text]
    for sql in candidates:
        with pytest.raises(SqlRefused):
            check_sql(sql, VISIBLE)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True), st.booleans())
def test_only_visible_tables_are_readable(name, quoted):
    sql = f'SELECT * FROM {chr(34) + name + chr(34) if quoted else name}'
    if name.lower() in VISIBLE and (not quoted or name in VISIBLE):
        assert check_sql(sql, VISIBLE).tables == (name.lower(),)
    else:
        with pytest.raises(SqlRefused):
            check_sql(sql, VISIBLE)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["read_parquet", "READ_CSV", "Read_Json", "parquet_scan", "delta_scan", "generate_series"]),
       st.text(alphabet="/abcdefgh._-", min_size=1, max_size=30))
def test_file_reading_functions_are_refused_in_any_position(function, path):
    for sql in (f"SELECT * FROM {function}('{path}')", f"SELECT {function}('{path}')",
                f"SELECT * FROM costs WHERE x IN (SELECT * FROM {function}('{path}'))"):
        with pytest.raises(SqlRefused):
            check_sql(sql, VISIBLE)
