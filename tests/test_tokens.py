import pytest
from django.core.management import CommandError, call_command

from participants.models import ApiToken
from participants.tokens import api_token_create, token_digest

pytestmark = pytest.mark.django_db


def test_ping_answers_with_the_tokens_provider(provider_client, lead_provider):
    response = provider_client.get("/api/v3/ping")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json()["data"]["attributes"]["name"] == lead_provider.name


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer ", "bearer x", "Basic abc"])
def test_missing_or_wrong_token_gets_401_with_contract_body(api_client, lead_provider, header):
    if header:
        api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get("/api/v3/ping")

    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied"}
    assert response["WWW-Authenticate"] == 'Token realm="Application"'


def test_token_form_of_the_header_is_accepted(api_client, lead_provider):
    raw = api_token_create(lead_provider=lead_provider)
    api_client.credentials(HTTP_AUTHORIZATION=f'Token token="{raw}"')

    assert api_client.get("/api/v3/ping").status_code == 200


def test_only_a_digest_is_stored_and_use_is_recorded(api_client, lead_provider):
    raw = api_token_create(lead_provider=lead_provider)
    token = ApiToken.objects.get()
    assert raw not in token.digest and token.digest == token_digest(raw)
    assert token.last_used_at is None

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api_client.get("/api/v3/ping")

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_create_api_token_command_prints_a_working_token(api_client, lead_provider, capsys):
    call_command("create_api_token", "ambition institute")
    raw = capsys.readouterr().out.strip()

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get("/api/v3/ping").status_code == 200


def test_create_api_token_for_unknown_provider_fails_clearly(db):
    with pytest.raises(CommandError, match="No lead provider called or with id 'Nobody'"):
        call_command("create_api_token", "Nobody")


def test_revoked_token_is_refused(api_client, lead_provider):
    raw = api_token_create(lead_provider=lead_provider)
    call_command("revoke_api_token", str(lead_provider.id), "--token", raw)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get("/api/v3/ping").status_code == 401


def test_unknown_api_path_is_a_contract_404(provider_client):
    response = provider_client.get("/api/v3/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_issued_tokens_are_recognisable_and_never_look_like_a_command_line_option(lead_provider):
    tokens = [api_token_create(lead_provider=lead_provider) for _ in range(200)]

    assert all(token.startswith("ecf_") for token in tokens)
    assert len(set(tokens)) == 200
