"""End-to-end harness: ``warroom dev`` as a subprocess on a free port with its own state directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from localcloud.services import free_port
from tests.conftest import PROJECT_ROOT

ADMIN_EMAIL = "e2e-admin@warroom.local"
ADMIN_PASSWORD = "e2e-correct-horse-battery-staple"
# The incoming webhooks' secrets every e2e local cloud runs with (test_incoming_webhooks.py signs with them).
WEBHOOK_SECRETS = {
    "META_APP_SECRET": "e2e-meta-app-secret",
    "META_WEBHOOK_VERIFY_TOKEN": "e2e-verify-token",
    "INCOMING_WEBHOOK_SECRETS": '{"partner": "whsec_ZTJlLXBhcnRuZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY="}',
}
# The variables that would make `warroom dev` reuse the test session's servers instead of its own.
_BACKING_VARIABLES = ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL", "JWT_SECRET", "WARROOM_UPLOADS_BUCKET")


@dataclass
class LocalCloud:
    process: subprocess.Popen
    base_url: str
    state_dir: Path
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def runtime(self) -> dict:
        return json.loads((self.state_dir / "runtime.json").read_text())

    def aws_credentials(self) -> dict[str, str]:
        """This cloud's own AWS key pair (the local Management API checks signatures made with it)."""
        values = json.loads((self.state_dir / "local-aws-credentials.json").read_text())
        return {
            "aws_access_key_id": values["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": values["AWS_SECRET_ACCESS_KEY"],
        }

    def log(self) -> str:
        return self.log_path.read_text()

    def admin_token(self) -> str:
        """An access token for the seeded admin, signed with this cloud's own key."""
        secrets = json.loads((self.state_dir / "local-secrets.json").read_text())
        with psycopg.connect(self.runtime["DATABASE_URL"]) as conn:
            (admin_id,) = conn.execute("SELECT id FROM users WHERE email = %s", (ADMIN_EMAIL,)).fetchone()
        previous = os.environ.get("JWT_SECRET")
        from warroom.core.config import reset_settings
        from warroom.core.security import issue_access_token

        os.environ["JWT_SECRET"] = secrets["JWT_SECRET"]
        reset_settings()
        try:
            return issue_access_token(str(admin_id), "admin")
        finally:
            if previous is None:
                os.environ.pop("JWT_SECRET", None)
            else:
                os.environ["JWT_SECRET"] = previous
            reset_settings()

    def stop(self, timeout_s: float = 30) -> int:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)


def start_local_cloud(state_dir: Path, *extra_args: str, template: Path | None = None) -> LocalCloud:
    """Start ``warroom dev`` and wait until its health answers 200 (fails with the log if it does not)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _BACKING_VARIABLES}
    env.update({"WARROOM_ADMIN_EMAIL": ADMIN_EMAIL, "WARROOM_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"})
    for name, value in WEBHOOK_SECRETS.items():
        env.setdefault(name, value)
    env.setdefault("WARROOM_MOCK_BACKFILL_DAYS", "1")  # a day of history is enough for a test, 7 costs ~4 s a start
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "warroom-dev.log"
    command = [sys.executable, "-m", "localcloud.cli", "dev", "--port", str(port), "--state-dir", str(state_dir)]
    if template is not None:
        command += ["--template", str(template), "--migrations", str(PROJECT_ROOT / "infra" / "migrations")]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, *extra_args], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT
        )
    cloud = LocalCloud(process, f"http://127.0.0.1:{port}", state_dir, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"warroom dev exited with {process.returncode}:\n{cloud.log()}")
        try:
            if cloud.client.get("/api/v1/health").status_code == 200:
                return cloud
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    cloud.stop()
    raise AssertionError(f"warroom dev did not become healthy:\n{cloud.log()}")


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    cloud = start_local_cloud(tmp_path_factory.mktemp("warroom-dev"), "--no-reload")
    yield cloud
    cloud.stop()


async def next_event(socket: Any, name: str, timeout_s: float = 15) -> dict[str, Any]:
    """The next frame with this event name on a dashboard socket (other broadcasts may arrive first)."""
    async with asyncio.timeout(timeout_s):
        while True:
            frame = json.loads(await socket.recv())
            if frame["event"] == name:
                return frame


async def next_reply(socket: Any, timeout_s: float = 15) -> dict[str, Any]:
    """The socket's answer to the action just sent: replies have bare names (``pong``, ``authenticated``,
    ``error``), broadcasts are namespaced (``dashboard:kpi-update``) and may arrive in between at any time."""
    async with asyncio.timeout(timeout_s):
        while True:
            frame = json.loads(await socket.recv())
            if ":" not in frame["event"]:
                return frame
