"""Every third-party module the package imports is a pinned runtime dependency in pyproject.toml.

Found by reading the package's import statements (ast), not by importing it, so an import that only some code path
reaches still counts; a module a development or deploy extra happens to install does not make it declared.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "cloudmonitor_pipelines"


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (imported for the type checker only)."""
    nodes, pending = [], [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return nodes


def _imported_modules() -> dict[str, str]:
    """Imported third-party module (dotted, as written) -> one file that imports it at run time."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from azure import identity` imports azure.identity: keep the name, the lookup walks back up
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "cloudmonitor_pipelines" or top == "__future__":
                    continue
                found.setdefault(name, str(path.relative_to(REPO_ROOT)))
    return found


@cache  # scans every installed distribution's metadata: once per test session, not once per import
def _packages_distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@cache
def _files_of(distribution: str) -> tuple[str, ...]:
    return tuple(str(f) for f in metadata.distribution(distribution).files or ())


@cache
def _distribution_of(module: str) -> str:
    """The installed distribution that provides ``module`` (its most specific package folder wins)."""
    parts = module.split(".")
    candidates = _packages_distributions().get(parts[0], [])
    for depth in range(len(parts), 0, -1):
        folder = "/".join(parts[:depth]) + "/"
        owners = [name for name in candidates if any(f.startswith(folder) for f in _files_of(name))]
        if len(owners) == 1:
            return canonicalize_name(owners[0])
    assert len(candidates) == 1, f"{module}: provided by {candidates}, cannot tell which"
    return canonicalize_name(candidates[0])


def test_every_imported_third_party_module_is_a_declared_runtime_dependency():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    undeclared = {module: (_distribution_of(module), where) for module, where in _imported_modules().items()
                  if _distribution_of(module) not in declared}
    assert undeclared == {}, f"imported at run time but not in [project.dependencies]: {undeclared}"


def test_the_import_scan_sees_namespace_packages_and_skips_type_checking_imports():
    # The check above is only as good as its scan: it must resolve each `azure.*` package to its own distribution,
    # see `from azure import identity`, and leave out what is imported for the type checker only.
    modules = _imported_modules()
    assert _distribution_of("azure.core.exceptions") == "azure-core"
    assert _distribution_of("azure.storage.blob") == "azure-storage-blob"
    assert "azure.identity" in modules and _distribution_of("azure.identity") == "azure-identity"
    assert {"pydantic", "polars", "deltalake"} <= {m.split(".")[0] for m in modules}
    assert not [m for m in modules if m.startswith("_typeshed")]
