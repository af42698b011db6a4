"""The free-SQL guard: one read-only SELECT over the session's own tables, checked on a parsed tree (sqlglot).

Allow-list, not deny-list: the statement must parse as exactly one query (SELECT / UNION / INTERSECT / EXCEPT,
with CTEs); every node of its tree must be of a kind in `_ALLOWED_NODE_KINDS` or a scalar/aggregate/window function
sqlglot knows by name; every table reference must be a bare name of a visible table or of a CTE defined in the
query. So `read_parquet('/x')`, `'/path'` as a table, `other.schema.table`, COPY, ATTACH, CREATE, INSERT, SET,
table functions such as `generate_series`, and row- or memory-multiplying functions are refused before the engine
sees anything.

The engine runs the caller's text (sqlglot's re-rendering would change DataFusion semantics, e.g. of `to_char`
formats; wrapping it in `SELECT * FROM (...) LIMIT n` would lose its ORDER BY, which DataFusion drops in
subqueries). The row limit is applied by reading the result stream, not by rewriting the query. Should a parser
differential ever let a non-SELECT through, the worker's engine-level limits still hold: it cannot write files, it
starts a fresh session per statement (a CREATE leaves nothing behind), DataFusion has no file-reading table
functions and its file-path tables are off, and it is killed at the time limit (see sandbox.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from cloudmonitor_pipelines.query.datafusion import engine_message

MAX_SQL_CHARS = 20_000  # an agent's query is a few hundred characters; bound what we parse
DIALECT = "postgres"  # DataFusion's SQL is PostgreSQL-flavoured (`::` casts, `$$` strings): parse it that way

_QUERY_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)

# Node kinds a read-only query is made of. Anything else (DDL, DML, Command, Copy, Set, Pragma, Attach, table-valued
# functions, user-defined function calls, placeholders) is refused.
_ALLOWED_NODE_KINDS: tuple[type[exp.Expr], ...] = (
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.With, exp.CTE, exp.From, exp.Join,
    exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit, exp.Offset, exp.Distinct, exp.Qualify,
    exp.Table, exp.TableAlias, exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Literal, exp.Boolean, exp.Null,
    exp.Paren, exp.Tuple, exp.Array, exp.Bracket, exp.Dot,
    exp.Binary, exp.Unary, exp.Connector, exp.Not, exp.Neg, exp.Between, exp.In, exp.Is, exp.Like, exp.ILike,
    exp.Case, exp.If, exp.Cast, exp.TryCast, exp.DataType, exp.DataTypeParam, exp.Interval, exp.Var,
    exp.Window, exp.WindowSpec, exp.PartitionedByProperty, exp.Filter, exp.WithinGroup, exp.Extract,
    exp.GroupingSets, exp.Cube, exp.Rollup, exp.Escape, exp.ColumnDef,
)
# Functions that produce rows from nothing or read outside the registered tables, even though sqlglot knows them.
_REFUSED_FUNCTIONS = frozenset({
    "generate_series", "range", "unnest", "explode", "read_parquet", "read_csv", "read_json", "read_ndjson",
    "read_avro", "parquet_scan", "delta_scan", "iceberg_scan", "glob", "read_text", "read_blob", "sqlite_scan",
    "current_setting", "set_config", "pg_read_file", "pg_read_binary_file", "lo_import", "version",
    # memory multipliers: one call can allocate gigabytes from a literal
    "repeat", "array_repeat", "lpad", "rpad", "make_array", "make_list", "array_resize", "generate_subscripts",
})


class SqlRefused(ValueError):
    """The SQL is not a single read-only query over this session's tables; the message says which rule it broke."""


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # the caller's statement without a trailing ';' (what the engine runs)
    tables: tuple[str, ...]  # visible tables it reads


def check_sql(sql: str, visible_tables: Collection[str]) -> CheckedQuery:
    """Parse and check `sql`; return what the engine may run, or raise SqlRefused naming the rule."""
    if not isinstance(sql, str) or not sql.strip():
        raise SqlRefused("empty query: send one SELECT statement")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRefused(f"query is {len(sql):,} characters; the limit is {MAX_SQL_CHARS:,}")
    if "\x00" in sql:
        raise SqlRefused("query contains a NUL character")
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except (ParseError, TokenError) as exc:
        raise SqlRefused(f"query does not parse as SQL: {engine_message(exc, 300)}") from None
    if len(statements) != 1:
        raise SqlRefused(f"send exactly one statement (got {len(statements)}); only SELECT queries are allowed")
    tree = statements[0]
    if not isinstance(tree, _QUERY_ROOTS):
        raise SqlRefused(f"only SELECT queries are allowed; this is a {tree.key.upper()} statement")
    visible = {t.lower(): t for t in visible_tables}
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    used: set[str] = set()
    for node in tree.walk():
        _check_node(node, visible, ctes, used)
    return CheckedQuery(sql.strip().rstrip(";").rstrip(), tuple(sorted(used)))


def _check_node(node: exp.Expr, visible: dict[str, str], ctes: set[str], used: set[str]) -> None:
    if isinstance(node, exp.Table):
        _check_table(node, visible, ctes, used)
    elif isinstance(node, exp.Func):
        name = _function_name(node)
        if name in _REFUSED_FUNCTIONS:
            raise SqlRefused(f"function {name}() is not allowed: queries read only the registered tables")
    elif not isinstance(node, _ALLOWED_NODE_KINDS):
        raise SqlRefused(f"{node.key.upper()} is not allowed in a read-only query")


def _check_table(node: exp.Table, visible: dict[str, str], ctes: set[str], used: set[str]) -> None:
    if not isinstance(node.this, exp.Identifier):
        raise SqlRefused("only table names may follow FROM/JOIN: no files, URLs or table functions")
    if node.args.get("db") or node.args.get("catalog"):
        raise SqlRefused(f"table {node.sql(dialect=DIALECT)} is qualified; use the bare table name")
    name = node.this.name.lower()
    if name in ctes:
        return
    if name not in visible:
        raise SqlRefused(f"table {node.this.name!r} is not visible here; tables: {', '.join(sorted(visible.values()))}")
    if node.this.quoted and node.this.name != visible[name]:
        raise SqlRefused(f"table {node.this.name!r} is not visible here; table names are lower case")
    used.add(visible[name])


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower()
