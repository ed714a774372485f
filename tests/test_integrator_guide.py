"""The integrator guide and the other integrator pages of docs/, served at /api/docs/<page>/ (issue 16)."""

import html
import re
from pathlib import Path

import pytest

from api.error_codes import CODES
from api.guides import GUIDE_PATH, PAGES, _renderer, page_path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ("/api/v1/schema.json", "/api/v2/schema.json", "/api/v3/schema.json", "/api/docs/v3-rect/schema.json")

pytestmark = pytest.mark.django_db


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


@pytest.mark.parametrize("slug", PAGES)
def test_each_page_is_served_as_html_under_the_content_security_policy(client, slug):
    response = client.get(page_path(slug))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    first_heading = (ROOT / "docs" / PAGES[slug]).read_text().splitlines()[0].removeprefix("# ")
    assert f"<h1>{first_heading}</h1>" in html.unescape(response.content.decode())


def test_every_link_on_the_pages_leads_somewhere(client):
    """A renamed page or route breaks this, not an integrator's bookmark."""
    local = {link for slug in PAGES for link in _links(client.get(page_path(slug)).content.decode())}
    local = {link.partition("#")[0] for link in local if link.startswith("/")}

    broken = {link: client.get(link).status_code for link in sorted(local)}
    assert local and {link: status for link, status in broken.items() if status != 200} == {}


def test_links_between_docs_files_become_the_pages_urls(client):
    html = client.get(page_path("moving-from-the-rewrite")).content.decode()

    assert page_path("rewrite-behaviour-differences") in _links(html)
    assert not [link for link in _links(html) if link.endswith(".md")]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_versions_document_links_the_guide(client, schema):
    description = client.get(schema).json()["info"]["description"]

    assert f"[integrator guide]({GUIDE_PATH})" in description


def test_the_guide_covers_what_integrators_asked_for(client):
    headings = re.findall(r"<h2>(.*?)</h2>", client.get(GUIDE_PATH).content.decode())

    for topic in ("Get started", "time travel", "Rate limits", "cursor", "Errors", "dry_run", "Idempotency-Key"):
        assert any(topic in heading for heading in headings), (topic, headings)


def test_every_code_the_guide_names_is_a_documented_code():
    text = (ROOT / "docs" / PAGES["guide"]).read_text()
    families = {code.partition(".")[0] for code in CODES}
    named = {
        name for name in re.findall(r"`(?:code: )?([a-z_]+\.[a-z_]+)`", text) if name.partition(".")[0] in families
    }

    assert named and named <= set(CODES), named - set(CODES)


def test_raw_html_in_a_page_is_shown_as_text_never_run():
    page = _renderer().render("Hello <script>alert(1)</script> [x](javascript:alert(1))")

    assert "<script>" not in page
    assert 'href="javascript:' not in page


def test_an_unknown_docs_page_is_the_contracts_json_404(client):
    response = client.get("/api/docs/deployment/")

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_the_readme_points_integrators_at_the_guide():
    assert "docs/integrator-guide.md" in (ROOT / "README.md").read_text()
