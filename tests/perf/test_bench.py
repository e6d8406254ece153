"""Benchmarks (``make bench``): ratios against a baseline measured in the same run, never absolute limits.

1. A warm request through the ``warroom dev`` gateway vs. the same handler called directly with the same
   event, against the same PostgreSQL and Redis: the gateway's overhead as a ratio.
2. The import time of each function's module (its cold-start share) vs. importing every function and the
   whole layer: how much laziness each function gets.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import httpx
import pytest

from localcloud.template import load_template, read_functions
from tests.conftest import PROJECT_ROOT, load_event
from tests.e2e.conftest import start_local_cloud

REQUESTS = 300


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def test_gateway_overhead_vs_direct_handler(tmp_path):
    cloud = start_local_cloud(tmp_path / "bench", "--no-reload")
    try:
        token = cloud.admin_token()
        headers = {"Authorization": f"Bearer {token}"}
        # GIVEN the same services for both paths
        runtime_info = cloud.runtime
        secrets = json.loads((cloud.state_dir / "local-secrets.json").read_text())
        os.environ.update(
            {
                "DATABASE_URL": runtime_info["DATABASE_URL"],
                "REDIS_URL": runtime_info["REDIS_URL"],
                "AWS_ENDPOINT_URL": runtime_info["AWS_ENDPOINT_URL"],
                "JWT_SECRET": secrets["JWT_SECRET"],
            }
        )
        from tests.conftest import _reset_containers

        _reset_containers()
        from localcloud.lambda_runtime import LambdaRuntime

        functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
        direct = LambdaRuntime(functions, {name: {} for name in functions})
        event = load_event("system_get_data_mode")
        event["headers"]["authorization"] = f"Bearer {token}"
        event["multiValueHeaders"]["authorization"] = [f"Bearer {token}"]

        with httpx.Client(base_url=cloud.base_url) as client:
            for _ in range(30):  # warm both paths
                assert client.get("/api/v1/settings/data-mode", headers=headers).status_code == 200
                assert direct.invoke("SystemFunction", event)["statusCode"] == 200
            gateway_s, direct_s = [], []
            for _ in range(REQUESTS):  # interleaved so that machine noise hits both alike
                started = time.perf_counter()
                client.get("/api/v1/settings/data-mode", headers=headers)
                gateway_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                direct.invoke("SystemFunction", event)
                direct_s.append(time.perf_counter() - started)
        direct.close()
        ratio = statistics.median(gateway_s) / statistics.median(direct_s)
        print(f"\nwarm GET /api/v1/settings/data-mode, median of {REQUESTS}:")
        print(f"  through warroom dev (HTTP + gateway): {_median_ms(gateway_s):.3f} ms")
        print(f"  handler called directly:              {_median_ms(direct_s):.3f} ms")
        print(f"  ratio gateway / direct:               {ratio:.2f}x")
        assert ratio > 0
    finally:
        cloud.stop()


_IMPORT_ONE = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""

_IMPORT_ALL = """
import importlib, importlib.util, pkgutil, sys, time
started = time.perf_counter()
import warroom
for info in pkgutil.walk_packages(warroom.__path__, "warroom."):
    importlib.import_module(info.name)
for index, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"app{index}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


def _timed_import(script: str, *paths: str, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        output = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True, check=True)
        samples.append(float(output.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


@pytest.mark.parametrize("runs", [5])
def test_function_import_time_vs_everything(runs):
    functions = read_functions(load_template(PROJECT_ROOT / "template.yaml"), PROJECT_ROOT)
    paths = {name: str(spec.code_uri / "app.py") for name, spec in functions.items()}
    everything = _timed_import(_IMPORT_ALL, *paths.values(), runs=runs)
    print(f"\nimport time, median of {runs} fresh interpreters:")
    print(f"  everything (whole layer + every function): {everything * 1000:.1f} ms")
    for name, path in sorted(paths.items()):
        own = _timed_import(_IMPORT_ONE, path, runs=runs)
        print(f"  {name:<28} {own * 1000:7.1f} ms  ratio {own / everything:.2f}")
        assert own > 0
