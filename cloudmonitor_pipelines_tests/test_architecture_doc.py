"""docs/architecture.md matches the code: every module, table and asset it names exists, and every module is named."""

import re
from pathlib import Path

from cloudmonitor_pipelines import tables

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cloudmonitor_pipelines"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
CODE_SPANS = re.findall(r"`([^`\n]+)`", DOC)


def _named_modules() -> set[Path]:
    """Module paths the doc names: `cloudmonitor_pipelines/x/y.py`, `x/y.py`, or `y.py` after `x/` or `x/z.py` in the
    same table row (a row names its folder once)."""
    named: set[Path] = set()
    for line in DOC.splitlines():
        folder = PACKAGE
        for span in re.findall(r"`([\w/]+(?:\.py|/))`", line):
            top_level = span.split("/", 1)[0] in {"cloudmonitor_pipelines", "scripts", "benchmarks"}
            if span.endswith("/"):
                folder = ROOT / span if top_level else PACKAGE / span
                continue
            path = ROOT / span if top_level else folder / span
            if not path.exists() and (PACKAGE / span).exists():
                path = PACKAGE / span
            named.add(path)
            if path.is_relative_to(PACKAGE):
                folder = path.parent
    return named


def test_every_module_the_doc_names_exists() -> None:
    missing = sorted(str(p.relative_to(ROOT)) for p in _named_modules() if not p.is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_module_of_the_package_is_in_the_doc() -> None:
    named = {p.resolve() for p in _named_modules()}
    # A folder named as a whole (`query/`, `reports/html/`) places every module in it.
    folders = {span.removeprefix("cloudmonitor_pipelines/").rstrip("/") for span in re.findall(r"`([\w/]+/)`", DOC)}
    modules = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and "__pycache__" not in p.parts]

    def placed(path: Path) -> bool:
        parents = {str(parent.relative_to(PACKAGE)) for parent in path.parents if parent.is_relative_to(PACKAGE)}
        return path.resolve() in named or bool(parents & folders)

    unnamed = sorted(str(p.relative_to(ROOT)) for p in modules if not placed(p))
    assert not unnamed, (
        f"modules docs/architecture.md does not place (add them to 'Where each concern lives'): {unnamed}")


def test_the_asset_graph_is_the_definitions_asset_graph() -> None:
    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.tenants import load_tenants

    graph = DOC.split("## The asset graph", 1)[1].split("\n## ", 1)[0]
    rows = [row for row in graph.splitlines() if row.startswith("| `")]
    names = {span for row in rows for span in re.findall(r"`(\w+)`", row.split("|")[1])}
    defs = build_definitions(load_tenants())
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert names == keys, f"doc only: {sorted(names - keys)}; definitions only: {sorted(keys - names)}"
    tables_named = {v for k, v in vars(tables).items() if k.isupper() and isinstance(v, str)}
    assert names & tables_named, "the asset graph names none of the tables in tables.py"


def test_the_doc_describes_no_bug_as_open() -> None:
    assert not re.search(r"known bug|strict xfail", DOC, re.IGNORECASE), "architecture.md still describes an open bug"
