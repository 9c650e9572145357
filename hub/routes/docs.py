"""/docs: Swagger UI for the API, served by the hub itself (no CDN) under a strict
Content-Security-Policy: scripts only from the hub, the page's own start-up script in a
file rather than inline. The schema itself is at /openapi.json. `/` leads people to the
operators' pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

_STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
_ASSETS = "/operator/static/vendor/swagger-ui"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>pprl-hub API</title>
  <link rel="stylesheet" href="{_ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui">
    <noscript>This page needs JavaScript. The API's schema is at
    <a href="/openapi.json">/openapi.json</a>.</noscript>
  </div>
  <script src="{_ASSETS}/swagger-ui-bundle.js"></script>
  <script src="/operator/static/docs-init.js"></script>
</body>
</html>
"""


@router.get("/")
def root() -> RedirectResponse:
    """Someone who opens the hub's address: the operators' pages (sign-in first)."""
    return RedirectResponse("/operator", status_code=303)


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """The API documentation, or a plain note when its assets were not installed."""
    if not (_STATIC / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").exists():
        return HTMLResponse(
            "<!doctype html><title>pprl-hub API</title><p>Swagger UI is not installed on "
            "this hub (<code>make setup</code> fetches it). The API's schema is at "
            '<a href="/openapi.json">/openapi.json</a>.</p>',
            status_code=503,
            headers={"Content-Security-Policy": CSP},
        )
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": CSP})
