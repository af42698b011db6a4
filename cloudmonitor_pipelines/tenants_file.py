"""Which tenants file a process uses, the same way for the CLI, `dg dev`/`make ui` and a reloaded code location.

Order: an explicit path; else env `CLOUDMONITOR_TENANTS`; else `tenants.yaml` in the project folder (the working
directory, where workspace.yaml and dagster.yaml live, which is where `make ui`, `dg dev` and the CLI run); else
the bundled sample tenants. Definitions resolve it on every load, so editing the file and reloading the code
location (UI: Deployment -> Reload) shows added, changed and offboarded tenants without exporting anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from cloudmonitor_pipelines.tenants import TENANTS_ENV_VAR

PROJECT_TENANTS_FILENAME = "tenants.yaml"


def resolve_tenants_file(explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None) -> Path | None:
    """The tenants file to load; None means the bundled sample (tenants.load_tenants' own default)."""
    if explicit:
        return Path(os.path.abspath(os.path.expanduser(os.fspath(explicit))))
    if os.environ.get(TENANTS_ENV_VAR, "").strip():
        return Path(os.path.abspath(os.path.expanduser(os.environ[TENANTS_ENV_VAR].strip())))
    project_file = (cwd or Path.cwd()) / PROJECT_TENANTS_FILENAME
    return project_file.resolve() if project_file.is_file() else None
