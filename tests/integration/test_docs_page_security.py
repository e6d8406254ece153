"""The API page runs only its own scripts and keeps no bearer token; every answer carries the security headers."""

from __future__ import annotations

SYSTEM = "SystemFunction"


def test_the_docs_page_has_a_strict_csp_and_no_inline_script(invoke):
    page = invoke(SYSTEM, "system_docs")
    assert page.status == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    # every <script> has a src of this origin: nothing inline for the policy to have to allow
    body = page.body
    assert body.count("<script") == body.count('<script src="docs/assets/')


def test_the_docs_page_does_not_persist_the_token(invoke):
    init = invoke(SYSTEM, "system_docs_asset", path_parameters={"name": "docs-init.js"})
    assert init.status == 200 and init.headers["content-type"].startswith("application/javascript")
    assert "persistAuthorization: false" in init.body and "persistAuthorization: true" not in init.body


def test_every_answer_says_nosniff_and_hsts_outside_the_local_cloud(invoke, token_for, monkeypatch):
    # GIVEN answers of every kind through the local runtime (AWS_SAM_LOCAL=true): public, authenticated, an error
    answers = [
        invoke(SYSTEM, "system_health"),
        invoke(SYSTEM, "system_list_settings", token=token_for("readonly")),
        invoke(SYSTEM, "system_list_settings"),  # 401
    ]
    # THEN each forbids type sniffing, and none pins https on the local cloud's plain http
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in answer.headers
    # AND deployed (no AWS_SAM_LOCAL) every answer pins https for a year
    from localcloud.gateway import build_proxy_event
    from localcloud.template import ApiRoute
    from warroom.core.config import reset_settings
    from warroom.core.http import WarRoomApp

    probe = WarRoomApp("headers-probe")
    probe.endpoint("GET", "/probe", role=None, response=dict[str, str])(lambda: {"ok": "yes"})
    monkeypatch.setenv("AWS_SAM_LOCAL", "false")
    reset_settings()
    event = build_proxy_event(
        "GET", "/probe", b"", [], b"", ApiRoute("Probe", "GET", "/probe"), {}, "198.51.100.7", "x"
    )
    headers = probe(event, None)["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["X-Content-Type-Options"] == "nosniff"
