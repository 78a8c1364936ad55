"""/api/docs works offline: Swagger UI's assets come from the app, not a CDN (issue 15, item 10)."""

from __future__ import annotations

import re


def test_the_docs_page_loads_every_asset_from_the_app_itself(api):
    page = api.client.get("/api/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    for url in urls:
        response = api.client.get(url)
        assert response.status_code == 200, url
    script = api.client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"] and len(script.content) > 100_000
    assert api.client.get("/api/v1/openapi.json").json()["info"]["title"] == "igautopost"
