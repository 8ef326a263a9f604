"""/docs and /redoc work offline: every asset is served by the service itself.

FastAPI's default pages load Swagger UI and ReDoc from a CDN (a blank page offline, and
third-party code run in the users' browsers). The headless-browser test resolves every host
but 127.0.0.1 to nothing, so it passes only if the page renders from same-origin assets.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

from tests.gateway.conftest import Service

URL_ATTRIBUTES = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_same_origin_assets(served: Service, page: str) -> None:
    response = httpx.get(f"{served.url}{page}", timeout=10)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html, html
    urls = [a or b for a, b in URL_ATTRIBUTES.findall(html)]
    assert "/openapi.json" in urls
    assets = [url for url in urls if url != "/openapi.json"]
    assert assets, html
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = httpx.get(f"{served.url}{url}", timeout=10)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
        kind = asset.headers["content-type"]
        expected = {"js": "javascript", "css": "text/css", "png": "image/png"}[url.rsplit(".")[-1]]
        assert expected in kind, (url, kind)


def test_docs_render_offline_in_a_headless_browser(served: Service) -> None:
    """Swagger UI, loaded by Chromium with no other host reachable, lists the operations."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium is not None, (
        "chromium is needed for this test: `make setup-test` installs it "
        "(apt-get install -y chromium)"
    )
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{served.url}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for path in ("/v1/events", "/subjects/{subject}/versions", "/v1/track"):
        assert f'data-path="{path}"' in dom, f"{path} not rendered: {dom[:2000]}"
