"""One bootstrap for `warroom dev`, `invoke` and `trigger`: its saved configuration, and modules that keep to it."""

from __future__ import annotations

import ast
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud import lifeline
from localcloud.bootstrap import LocalCloudConfig, LocalCloudError, ServiceUrls, running_instance
from localcloud.provision import Stack
from localcloud.template import CorsConfig, load_template
from tests.unit.test_localcloud_lifeline import wait_until
from tests.unit.test_localcloud_template import function_template, write_template

LOCALCLOUD = Path(__file__).resolve().parents[2] / "infra" / "localcloud"


def private_names_used_across_modules(source: str) -> list[str]:
    """`from localcloud.x import _name` and `x._name` on an imported localcloud module, in one module's source."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("localcloud"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{node.module}.{alias.name}")
                if node.module == "localcloud":
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names if alias.name.startswith("localcloud.")}
    for node in ast.walk(tree):
        private = isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        if private and isinstance(node.value, ast.Name) and node.value.id in modules:
            found.append(f"{node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("module", sorted(LOCALCLOUD.glob("*.py")), ids=lambda path: path.name)
def test_no_module_uses_another_modules_private_helpers(module: Path) -> None:
    # GIVEN / WHEN a local cloud module is read
    # THEN it uses other modules only through their public names (the bootstrap is shared, not borrowed)
    assert private_names_used_across_modules(module.read_text()) == []


def test_the_checker_sees_both_ways_of_borrowing_a_private_helper() -> None:
    source = "from localcloud import cli\nfrom localcloud.cli import _parameter\ncli._say('x')\n"
    assert private_names_used_across_modules(source) == ["localcloud.cli._parameter", "cli._say"]


@pytest.fixture
def config(tmp_path: Path) -> LocalCloudConfig:
    template_path = write_template(tmp_path, function_template(""))
    stack = Stack("warroom-local", load_template(template_path), {"Stage": "dev"}, {"Queue": "https://q"})
    stack.attributes[("Queue", "Arn")] = "arn:aws:sqs:us-east-1:000000000000:q"
    stack.account_id = "000000000000"
    return LocalCloudConfig(
        template=template_path,
        state_dir=tmp_path,
        host="127.0.0.1",
        port=3999,
        urls=ServiceUrls("postgresql://postgres@127.0.0.1:5/warroom", "redis://127.0.0.1:6/0", "http://127.0.0.1:7"),
        env_by_function={"OnlyFunction": {"WARROOM_QUEUE_URL": "https://q"}},
        stack=stack,
        cors=CorsConfig(allow_origin="*", max_age="600"),
        schedules=False,
        schedule_speed=60.0,
        pid=123,
        service_pids={"postgres": 456},
    )


def test_the_configuration_round_trips_through_runtime_json(config: LocalCloudConfig) -> None:
    # GIVEN a configuration as `prepare` makes it / WHEN it is saved and read back (by the serving child, by invoke)
    loaded = LocalCloudConfig.load(config.save())

    # THEN it is the same configuration, and the file keeps the keys scripts and tests read
    assert loaded == config
    assert loaded.stack.getatt("Queue", "Arn") == "arn:aws:sqs:us-east-1:000000000000:q"
    saved = json.loads((config.state_dir / "runtime.json").read_text())
    assert {"url", "pid", "pids", "DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL", "env_by_function"} <= set(saved)


def test_a_runtime_json_from_an_older_version_is_refused(config: LocalCloudConfig) -> None:
    path = config.save()
    path.write_text(json.dumps({"pid": 1, "env_by_function": {}}))
    with pytest.raises(LocalCloudError, match="older"):
        LocalCloudConfig.load(path)


def test_running_instance_is_found_only_while_its_warroom_dev_runs(config: LocalCloudConfig, tmp_path: Path) -> None:
    # GIVEN a runtime.json naming a process that looks like `warroom dev`
    dev = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()", "warroom", "dev"])
    try:
        assert wait_until(lambda: "dev" in (lifeline.command_line(dev.pid) or []))  # visible once exec is done
        LocalCloudConfig(**{**config.__dict__, "pid": dev.pid}).save()
        # WHEN / THEN it is the running instance
        found = running_instance(tmp_path)
        assert found is not None and found.pid == dev.pid
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait()
    # AND once that process is gone there is none
    assert running_instance(tmp_path) is None
