"""Benchmark of cold starts (``make bench``): each function's module import against a baseline in the same run.

For every function of ``template.yaml`` (each is a ``functions/<group>/app.py``), the import time of its
app module in a fresh interpreter, the median of several runs, beside the import of ``chalice`` and
``pydantic`` alone (what any HTTP function needs at the least) measured interleaved with them, so
machine noise hits both alike. HTTP functions (those with an ``Api`` event) must import within
:data:`HTTP_IMPORT_TARGET_MS`; the heavy libraries each one still loads at import are listed beside it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from localcloud.template import load_template, read_functions
from tests.conftest import PROJECT_ROOT

RUNS = 7
HTTP_IMPORT_TARGET_MS = 300
# Libraries worth knowing about when a function loads them at import (each costs 20-90 ms here).
HEAVY = ("redis", "jwt", "psycopg", "boto3", "httpx", "openai", "tenacity", "cryptography", "pydantic_settings")

_IMPORT_APP = """
import importlib.util, json, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
elapsed = time.perf_counter() - started
print(json.dumps({"s": elapsed, "loaded": [name for name in sys.argv[2:] if name in sys.modules]}))
"""

_IMPORT_BASELINE = """
import json, time
started = time.perf_counter()
import chalice, pydantic
print(json.dumps({"s": time.perf_counter() - started, "loaded": []}))
"""


def _fresh_import(script: str, *args: str) -> tuple[float, list[str]]:
    output = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    answer = json.loads(output.stdout.strip().splitlines()[-1])
    return answer["s"], answer["loaded"]


def test_each_function_import_time_vs_chalice_and_pydantic():
    # GIVEN every function of the template (all of functions/), HTTP ones told apart by their Api events
    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    apps = {name: spec.code_uri / "app.py" for name, spec in functions.items()}
    assert {path.parent.name for path in apps.values()} == {
        path.parent.name for path in (PROJECT_ROOT / "functions").glob("*/app.py")
    }
    http = {name for name, spec in functions.items() if any(e.get("Type") == "Api" for e in spec.events.values())}

    # WHEN each app module and the baseline are imported in fresh interpreters, interleaved
    samples: dict[str, list[float]] = {name: [] for name in apps}
    baseline: list[float] = []
    loaded: dict[str, list[str]] = {}
    for _ in range(RUNS):
        for name, path in sorted(apps.items()):
            baseline.append(_fresh_import(_IMPORT_BASELINE)[0])
            seconds, loaded[name] = _fresh_import(_IMPORT_APP, str(path), *HEAVY)
            samples[name].append(seconds)

    # THEN each is printed with its ratio to the baseline, and HTTP functions meet the target
    base_ms = statistics.median(baseline) * 1000
    print(f"\nimport time, median of {RUNS} fresh interpreters each (baseline interleaved):")
    print(f"  baseline: import chalice, pydantic     {base_ms:6.1f} ms")
    over = {}
    for name in sorted(apps):
        own_ms = statistics.median(samples[name]) * 1000
        kind = "http " if name in http else "event"
        heavy = ", ".join(loaded[name]) or "-"
        print(f"  {name:<26} {kind} {own_ms:6.1f} ms  ratio {own_ms / base_ms:4.2f}  loads: {heavy}")
        if name in http and own_ms > HTTP_IMPORT_TARGET_MS:
            over[name] = round(own_ms)
    assert over == {}, f"HTTP functions importing in more than {HTTP_IMPORT_TARGET_MS} ms: {over}"
