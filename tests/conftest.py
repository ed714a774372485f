import pytest
from rest_framework.test import APIClient

from participants.models import LeadProvider
from participants.tokens import api_token_create


@pytest.fixture
def lead_provider(db):
    return LeadProvider.objects.create(name="Ambition Institute")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def provider_client(lead_provider):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


@pytest.fixture(autouse=True)
def visibility_follows_test_writes():
    """Tests build their worlds with factories and plain saves, not through the services, so the read
    model of visibility (visibility.models) follows every save of the records it derives from while a
    test runs. The services keep it up to date themselves: tests/test_visibility.py switches this
    off around each change of the updated_since table to prove it."""
    from tests.visibility_sync import follow_saves  # noqa: PLC0415

    with follow_saves():
        yield
