"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from files on this machine, so they work
offline and load nothing from another host.

FastAPI's own pages fetch Swagger UI, ReDoc, a favicon and (ReDoc) Google Fonts from CDNs: a blank
page without internet, and a request to a third party each time an operator opens them. The
assets come from the ``fastapi-offline`` distribution (its ``static/`` folder: Swagger UI 5 and
ReDoc 2 bundles, a favicon); the pages are FastAPI's ``get_swagger_ui_html`` / ``get_redoc_html``
pointed at them, as FastAPI documents for self-hosting the docs' assets. ReDoc's bundle still
shows Redocly's logo from its CDN in the sidebar whatever its options: the pages' content security
policy (:data:`DOCS_CSP`) allows images from this server and data URLs only, so the browser never
asks for it (the logo is left out; the "API docs by Redocly" link stays).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs-assets"
DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"
# the pages' own inline start-up scripts and styles, ReDoc's search worker (a blob:), nothing remote
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def _local(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def install_docs(app: FastAPI) -> None:
    """Mount the assets at :data:`ASSETS_URL` and serve ``/docs`` and ``/redoc`` from them
    (``app`` is made with ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    def assets(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_URL}"

    def schema(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{app.openapi_url}"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        base = assets(request)
        return _local(
            get_swagger_ui_html(
                openapi_url=schema(request),
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=OAUTH2_REDIRECT_URL,
                swagger_js_url=f"{base}/swagger-ui-bundle.js",
                swagger_css_url=f"{base}/swagger-ui.css",
                swagger_favicon_url=f"{base}/favicon.png",
            )
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        base = assets(request)
        return _local(
            get_redoc_html(
                openapi_url=schema(request),
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{base}/redoc.standalone.js",
                redoc_favicon_url=f"{base}/favicon.png",
                with_google_fonts=False,
            )
        )


__all__ = ["ASSETS_DIR", "ASSETS_URL", "DOCS_CSP", "install_docs"]
