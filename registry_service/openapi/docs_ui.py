"""The docs UI (Swagger UI at /docs, ReDoc at /redoc) served from this process.

FastAPI's defaults load Swagger UI's JavaScript and CSS from a CDN: offline, or behind a proxy
that blocks it, /docs is a blank page, and a service facing the internet should not ask its
users' browsers to run third-party code. The assets come from the pinned `fastapi-offline`
package (MIT; it ships swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and a
favicon, and depends on nothing but FastAPI); only its files are used, mounted read-only.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def assets_directory() -> str:
    """Where the installed fastapi-offline package keeps the UI's files."""
    return str(resources.files("fastapi_offline") / "static")


def mount_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI and ReDoc with same-origin assets only.

    The app must be created with ``docs_url=None, redoc_url=None`` (FastAPI's CDN pages).
    """
    app.mount(ASSETS_URL, StaticFiles(directory=assets_directory()), name="docs-assets")

    def asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_URL}/{name}"

    def openapi_url(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{app.openapi_url}"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon.png"),
            # no badge from Swagger's online validator: the page stays same-origin
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url(request),
            title=f"{app.title} - ReDoc",
            redoc_js_url=asset(request, "redoc.standalone.js"),
            redoc_favicon_url=asset(request, "favicon.png"),
            with_google_fonts=False,
        )
