"""docs/architecture.md matches the code: every module, table and asset it names exists, and every module is named."""

import re
from pathlib import Path

from cloudmonitor_pipelines import tables

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cloudmonitor_pipelines"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
CODE_SPANS = re.findall(r"`([^`\n]+)`", DOC)


def _named_modules() -> set[Path]:
    """Module paths the doc names: `cloudmonitor_pipelines/x/y.py`, or `y.py` after one in the same table cell."""
    named: set[Path] = set()
    for line in DOC.splitlines():
        folder = PACKAGE
        for span in re.findall(r"`([\w/]+\.py)`", line):
            top_level = span.split("/", 1)[0] in {"cloudmonitor_pipelines", "scripts", "benchmarks"}
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
    folders_named = {m.group(1) for m in re.finditer(r"`(\w+)/`", DOC)}
    modules = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and "__pycache__" not in p.parts]
    unnamed = sorted(
        str(p.relative_to(ROOT)) for p in modules
        if p.resolve() not in named and p.parent.name not in folders_named
    )
    assert not unnamed, f"modules docs/architecture.md does not place (add them to 'Where each concern lives'): {unnamed}"


def test_every_table_the_doc_names_exists() -> None:
    graph = DOC.split("## The asset graph", 1)[1].split("\n## ", 1)[0]
    names = {span for row in graph.splitlines() if row.startswith("| `") for span in re.findall(r"`(\w+)`", row.split("|")[1])}
    known = {value for key, value in vars(tables).items() if key.isupper() and isinstance(value, str)}
    assert names, "the asset graph section lists no assets"
    assert names <= known, f"the asset graph names tables that tables.py does not: {sorted(names - known)}"


def test_the_doc_describes_no_bug_as_open() -> None:
    assert not re.search(r"known bug|strict xfail", DOC, re.IGNORECASE), "architecture.md still describes an open bug"
