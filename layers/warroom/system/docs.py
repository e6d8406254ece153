"""The interactive API page: Swagger UI 5 (OpenAPI 3.1 capable) served offline from the layer.

The page and its assets use relative URLs, so they work behind API Gateway's stage prefix
(``/Prod/api/v1/docs``) as well as at the local cloud's root. The page runs no inline script (its
start-up is an asset of ours), so its Content-Security-Policy allows scripts from this origin only,
and it does not keep the bearer token it is given (no ``persistAuthorization``: a token in
``localStorage`` outlives the tab and is readable by any script of the origin).
"""

from __future__ import annotations

import functools
from pathlib import Path

from warroom.core.errors import NotFound

# The only files the page needs; nothing else of the package is reachable through the route.
DOCS_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
    "docs-init.js": "application/javascript; charset=utf-8",
}
# What the page may load: its own scripts, styles (Swagger UI sets inline styles), images, and calls to this API.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  persistAuthorization: false
});
"""

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>War Room API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="docs/assets/docs-init.js"></script>
</body>
</html>
"""


def _static_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


@functools.cache
def docs_asset(name: str) -> tuple[str, str]:
    """(content, content type) of one page asset; 404 for anything not on the list."""
    content_type = DOCS_ASSETS.get(name)
    if content_type is None:
        raise NotFound(f"No documentation asset named '{name}'.")
    if name == "docs-init.js":
        return _DOCS_INIT, content_type
    return (_static_dir() / name).read_text(encoding="utf-8"), content_type
