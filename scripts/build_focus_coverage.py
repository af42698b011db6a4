"""Write docs/focus-rule-coverage.md: every FOCUS 1.2 / 1.0 statement about a stored column, with our rule or why not.

The statements come from the packaged catalogue (scripts/build_focus_catalog.py puts them there); the
classification is cloudmonitor_pipelines/focus/coverage.py. Re-run after either changes; a test fails while the
committed file differs from what this writes.

    .venv/bin/python scripts/build_focus_catalog.py && .venv/bin/python scripts/build_focus_coverage.py
"""

from __future__ import annotations

from pathlib import Path

from cloudmonitor_pipelines.focus.coverage import render_markdown

OUT = Path(__file__).resolve().parents[1] / "docs" / "focus-rule-coverage.md"

if __name__ == "__main__":
    OUT.write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {OUT}")
