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
