"""``make fuzz``: schemathesis against a fresh ``warroom dev``, checking the answers against the OpenAPI document.

It starts ``warroom dev`` on its own port with a throw-away state directory and a known admin, signs
in, runs ``schemathesis run`` on ``/api/v1/openapi.json`` with the admin's bearer token and the
conformance checks (status codes, content types, response schemas, no 5xx), then stops the server.
The exit code is schemathesis's. Not part of ``make test``: it takes minutes and its data are random.

Operations that revoke the caller's own credentials (revoke a session, change password, log out,
change or deactivate a user, which the fuzzer finds to be itself) run after the main pass, one pass
each with a token of its own, so they do not turn the rest of the run into 401s. What the run accepts
beyond schemathesis's defaults is in ``tests/fuzz/schemathesis.toml``.

Example
-------
>>> python tests/fuzz/fuzz_api.py --max-examples 30 --seed 1     # what `make fuzz` runs
>>> WARROOM_ADMIN_EMAIL=... WARROOM_ADMIN_PASSWORD=... python tests/fuzz/fuzz_api.py --base-url http://127.0.0.1:3000
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN_EMAIL = "fuzz-admin@warroom.local"
CONFIG_FILE = Path(__file__).with_name("schemathesis.toml")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Schedules off: the fuzzer's answers should not depend on what a background job did a moment ago.
DEV_OPTIONS = ("--no-reload", "--schedules", "off")
# In this order: the later ones can end every session of the admin (logout-all, or its deactivation).
SELF_REVOKING_OPERATIONS = (
    "auth_revoke_session",
    "auth_change_password",
    "auth_log_out",
    "admin_update_user",
    "admin_deactivate_user",
    "auth_log_out_everywhere",
)


def _wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"warroom dev exited with {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{base_url}/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"warroom dev was not ready within {timeout_s:.0f} s")


def _access_token(base_url: str, email: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base_url}/api/v1/auth/login",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["access_token"]


def _schemathesis_command(
    base_url: str, token: str, args: argparse.Namespace, operations: list[str], extra_args: list[str]
) -> list[str]:
    return [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG_FILE),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--url",
        base_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        args.workers,
        "--report",
        "ndjson",
        "--report-dir",
        args.report_dir,
        *operations,
        *extra_args,
    ]


def fuzz(base_url: str, email: str, password: str, args: argparse.Namespace, extra_args: list[str]) -> int:
    """Every pass against a running server; the worst exit code."""
    passes = [
        [item for operation in SELF_REVOKING_OPERATIONS for item in ("--exclude-operation-id", operation)],
        *(["--include-operation-id", operation] for operation in SELF_REVOKING_OPERATIONS),
    ]
    # Every token before the first pass: its wrong passwords (MFA setup) may lock the account's sign-in.
    tokens = [_access_token(base_url, email, password) for _ in passes]
    codes = []
    for token, operations in zip(tokens, passes, strict=True):
        command = _schemathesis_command(base_url, token, args, operations, extra_args)
        codes.append(subprocess.call(command, cwd=PROJECT_ROOT))
    return max(codes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3997)
    parser.add_argument("--base-url", help="fuzz this running server (admin from WARROOM_ADMIN_EMAIL/_PASSWORD)")
    parser.add_argument("--state-dir", help="warroom dev's state (default: a fresh temporary directory)")
    parser.add_argument("--max-examples", type=int, default=30, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--report-dir", default=str(PROJECT_ROOT / ".warroom" / "fuzz-report"))
    args, schemathesis_args = parser.parse_known_args(argv)

    if args.base_url:
        email, password = os.environ["WARROOM_ADMIN_EMAIL"], os.environ["WARROOM_ADMIN_PASSWORD"]
        return fuzz(args.base_url.rstrip("/"), email, password, args, schemathesis_args)

    base_url = f"http://127.0.0.1:{args.port}"
    state_dir = Path(args.state_dir or tempfile.mkdtemp(prefix="warroom-fuzz-"))
    password = secrets.token_urlsafe(18)
    environment = {
        **os.environ,
        "WARROOM_ADMIN_EMAIL": ADMIN_EMAIL,
        "WARROOM_ADMIN_PASSWORD": password,
        # Tokens that outlive the run, and no per-user quota cutting it short.
        "WARROOM_ACCESS_TOKEN_TTL_S": "7200",
        "WARROOM_USER_RATE_LIMIT_PER_HOUR": "0",
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    server_log = state_dir / "fuzz-dev.log"
    with server_log.open("wb") as log_file:
        server = subprocess.Popen(
            [str(BIN / "warroom"), "dev", "--port", str(args.port), "--state-dir", str(state_dir), *DEV_OPTIONS],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(base_url, server, timeout_s=120)
            print(f"fuzzing {base_url} (server log: {server_log})", flush=True)
            return fuzz(base_url, ADMIN_EMAIL, password, args, schemathesis_args)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            if not args.state_dir:
                shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
