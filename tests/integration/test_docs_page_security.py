"""The API page runs only its own scripts and keeps no bearer token."""

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
