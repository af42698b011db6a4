"""deploy/image/constraints.txt, the image's pinned closure, keeps up with pyproject.toml (no network: files only)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]


def _exact_version(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    assert specifier.operator == "==", f"not an exact pin: {requirement}"
    return specifier.version


def _constraints() -> dict[str, str]:
    lines = (REPO_ROOT / "deploy" / "image" / "constraints.txt").read_text().splitlines()
    requirements = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(r.name): _exact_version(r) for r in requirements}


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def test_every_runtime_and_deploy_pin_is_in_the_constraints_at_its_version():
    project, constraints = _project(), _constraints()
    pins = [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["deploy"]]]
    drift = {r.name: (_exact_version(r), constraints.get(canonicalize_name(r.name))) for r in pins
             if constraints.get(canonicalize_name(r.name)) != _exact_version(r)}
    assert drift == {}, f"pyproject pin vs constraints.txt (regenerate it as its header says): {drift}"


def test_the_constraints_hold_no_development_tool():
    # Frozen from the dev venv instead of a deploy-only one, the file would list these (and ship them in the image).
    constraints = _constraints()
    tools = [Requirement(r) for r in _project()["optional-dependencies"]["dev"] if not r.startswith("cloudmonitor")]
    tools += [Requirement(r) for r in _project()["optional-dependencies"]["ui"]]
    assert [r.name for r in tools if canonicalize_name(r.name) in constraints] == []
