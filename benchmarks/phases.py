"""Running a benchmark phase in a fresh process: shared by the scripts that report a phase's own peak RSS.

A script registers its phases (name -> function of a JSON case), calls `add_phase_arguments` on its parser and,
first thing after parsing, `answer_phase`: run as a child, it runs the one phase and prints its figures as JSON.
The parent calls `run_phase(__file__, name, case)`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

Phases = dict[str, Callable[[dict], dict]]


def phase_environment() -> dict[str, str]:
    """Every phase runs with the allocator setting the pipeline's processes use: a comparison is then between the
    work done, not between two memory allocator configurations."""
    from cloudmonitor_pipelines.runtime import configure_allocator

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    configure_allocator(env)
    return env


def run_phase(script: str, name: str, case: dict) -> dict:
    """Run `script --phase name` in a fresh process; its figures, plus the parent-side wall time."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, script, "--phase", name, "--case", json.dumps(case)],
                          capture_output=True, text=True, check=False, env=phase_environment())
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-6000:])
        raise SystemExit(f"phase {name} failed (exit {proc.returncode}) for {case.get('label', '')}")
    # The child's own figures are authoritative; RUSAGE_CHILDREN would give the max over all children so far.
    figures = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    figures["process_wall_seconds"] = wall
    return figures


def add_phase_arguments(parser: argparse.ArgumentParser, phases: Phases) -> None:
    parser.add_argument("--phase", choices=sorted(phases), help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)


def answer_phase(args: argparse.Namespace, phases: Phases) -> bool:
    """In a child process: run the requested phase, print its figures; False in the parent."""
    if not args.phase:
        return False
    print(json.dumps(phases[args.phase](json.loads(args.case)), default=str))
    return True
