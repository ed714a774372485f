"""Issue 12.6: the admin and the API docs pages send a Content-Security-Policy that allows scripts
from our own origin only, and Swagger UI and the admin still work under it in a real browser."""

import re

import pytest
from django.contrib.auth.models import User

from tests.test_back_office_browser import browser_page  # noqa: F401 (a fixture)

PAGES = ["/admin/login/", "/api/docs/v1/", "/api/docs/v2/", "/api/docs/v3/", "/api/docs/release-notes/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_admin_and_docs_pages_allow_scripts_from_self_only(client, path):
    response = client.get(path)

    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert response.status_code == 200
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/v1/", "/api/docs/v3/"])
def test_swagger_ui_pages_have_no_inline_script(client, path):
    page = client.get(path).content.decode()

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts and all('src="/' in attributes and not body.strip() for attributes, body in scripts)
    start_up = client.get(re.findall(r'<script src="(/api/docs/[^"]+)"', page)[0])
    assert (start_up.status_code, start_up["Content-Type"]) == (200, "application/javascript")


@pytest.mark.django_db
def test_the_api_itself_sends_no_policy(provider_client):
    assert "Content-Security-Policy" not in provider_client.get("/api/v3/ping")


def violations_while(page, action) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    action()
    return [text for text in messages if "Content Security Policy" in text]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_swagger_ui_renders_every_operation_under_the_policy(live_server, browser_page):  # noqa: F811
    page = browser_page

    violations = violations_while(page, lambda: page.goto(f"{live_server.url}/api/docs/v3/"))
    page.wait_for_selector(".opblock")

    assert violations == []
    assert page.locator(".opblock").count() >= 20
    assert "Lead provider API (ECF)" in page.locator(".title").first.inner_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_admin_logs_in_and_shows_its_index_under_the_policy(live_server, browser_page):  # noqa: F811
    User.objects.create_superuser("admin", "admin@example.com", "a-long-admin-password")
    page = browser_page

    def log_in():
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "a-long-admin-password")
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        page.goto(f"{live_server.url}/admin/api/apirequestlog/")
        page.wait_for_selector("#changelist")

    violations = violations_while(page, log_in)

    assert violations == []
