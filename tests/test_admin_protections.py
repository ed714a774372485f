"""The back office is behind a staff login with the usual protections: CSRF on the login form,
no framing, session cookies out of scripts' reach."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/admin/api/apirequestlog/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/api/apirequestlog/"


def test_a_user_who_is_not_staff_cannot_log_in(client):
    User.objects.create_user("provider-person", password=PASSWORD)

    response = client.post("/admin/login/", {"username": "provider-person", "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_staff_log_in_and_get_an_http_only_session_cookie(client):
    User.objects.create_user("support", password=PASSWORD, is_staff=True)

    response = client.post("/admin/login/", {"username": "support", "password": PASSWORD, "next": "/admin/"})

    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"] is True
    assert client.get("/admin/").status_code == 200


def test_the_login_form_refuses_a_post_without_its_csrf_token():
    User.objects.create_user("support", password=PASSWORD, is_staff=True)
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": "support", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_admin_pages_cannot_be_framed(client):
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"
