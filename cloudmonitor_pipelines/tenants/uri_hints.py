"""Refusals of location spellings we do not accept (https://, wasbs://, az://, s3://), each with the abfss:// form
to write instead. What belongs here: turning a refused URL into that suggestion, never echoing its query."""

from __future__ import annotations

from cloudmonitor_pipelines.locations import ADLS_HOST_SUFFIX, BLOB_HOST_SUFFIX, ONELAKE_HOST_SUFFIX


def unsupported_scheme_problem(scheme: str, text: str) -> str:
    without_query = text.split("?", 1)[0].split("#", 1)[0]
    suggestion = _abfss_equivalent(scheme, without_query)
    shown = without_query + ("?…" if "?" in text else "")
    return (
        f"{scheme}:// locations are not accepted ({shown!r}); use a local folder or an abfss:// URI, "
        f"e.g. {suggestion}"
    )


def _abfss_equivalent(scheme: str, url: str) -> str:
    generic = "abfss://<container>@<account>.dfs.core.windows.net/<path>"
    rest = url[len(scheme) + 3 :]
    if scheme in ("http", "https"):
        host, _, path = rest.partition("/")
        host = host.lower()
        container, _, inner = path.partition("/")
        if host.endswith((ADLS_HOST_SUFFIX, BLOB_HOST_SUFFIX)) and container:
            account = host.split(".", 1)[0]
            return f"abfss://{container}@{account}{ADLS_HOST_SUFFIX}/{inner}".rstrip("/")
        if host.endswith((".dfs.fabric.microsoft.com", ".blob.fabric.microsoft.com")) and container:
            return f"abfss://{container}@onelake{ONELAKE_HOST_SUFFIX}/{inner}".rstrip("/")
        return generic
    authority, _, path = rest.partition("/")
    container, at, host = authority.partition("@")
    if at and host.lower().endswith((ADLS_HOST_SUFFIX, BLOB_HOST_SUFFIX)):
        account = host.lower().split(".", 1)[0]
        return f"abfss://{container}@{account}{ADLS_HOST_SUFFIX}/{path}".rstrip("/")
    if scheme == "az" and container and not at:
        return f"abfss://{container}@<account>{ADLS_HOST_SUFFIX}/{path}".rstrip("/")
    return generic
