"""/api/v1/participant-declarations: list, show, POST and void (api.md §9.3, §10.1; rules §4.11).

v1 differs from v3 in its shape (the deprecated `eligible_for_payment` and `voided`), in its
`updated_since` (strict), in `filter[participant_id]` (one UUID, anything else a 400) and in what
it shows of a leaver's previous providers (nothing). Each difference has a test named after it.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from declarations.models import Declaration, DeclarationState
from ecf import clock
from participants.models import InductionStatus
from statements.models import StatementStatus
from tests.factories import (
    DeclarationFactory,
    LeadProviderFactory,
    PartnershipFactory,
    StatementFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/participant-declarations"
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
V1_ATTRIBUTES = [
    "participant_id",
    "declaration_type",
    "course_identifier",
    "eligible_for_payment",
    "declaration_date",
    "updated_at",
    "voided",
    "state",
    "has_passed",
]
STATES = ["submitted", "eligible", "payable", "paid", "voided", "ineligible", "awaiting_clawback", "clawed_back"]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def attributes(client, declaration, url=URL) -> dict:
    response = client.get(f"{url}/{declaration.id}")
    assert response.status_code == 200, response.content
    return response.json()["data"]["attributes"]


def moved_to(lead_provider, enrolment, *, induction_status=InductionStatus.ACTIVE, end_date=None):
    """The enrolment now has a training period under a partnership of `lead_provider`."""
    return TrainingPeriodFactory(
        enrolment=enrolment,
        partnership=PartnershipFactory(lead_provider=lead_provider, cohort=enrolment.schedule.cohort),
        start_date=NOW - timedelta(days=5 * 365),
        induction_status=induction_status,
        end_date=end_date,
    )


def other_providers_declaration(**traits):
    theirs = enrolled_participant(lead_provider=LeadProviderFactory())
    return DeclarationFactory(enrolment=theirs.enrolment, lead_provider=theirs.lead_provider, **traits)


# --- Representation -------------------------------------------------------------------------


def test_v1_declaration_shows_every_attribute_in_order(provider_client, lead_provider):
    with clock.frozen(NOW):
        declaration = DeclarationFactory(lead_provider=lead_provider, eligible=True)

    response = provider_client.get(f"{URL}/{declaration.id}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == str(declaration.id)
    assert data["type"] == "participant-declaration"
    assert list(data["attributes"]) == V1_ATTRIBUTES
    assert data["attributes"] == {
        "participant_id": str(declaration.participant_id),
        "declaration_type": "started",
        "course_identifier": "ecf-induction",
        "eligible_for_payment": True,
        "declaration_date": timestamp(declaration.declaration_date),
        "updated_at": timestamp(NOW),
        "voided": False,
        "state": "eligible",
        "has_passed": None,
    }


@pytest.mark.parametrize("state", STATES)
def test_v1_eligible_for_payment_only_while_eligible_or_payable(provider_client, lead_provider, state):
    """api.md §16.13: false once paid, the deprecated flag meant "will be paid"."""
    declaration = DeclarationFactory(lead_provider=lead_provider, **{state: True})

    shown = attributes(provider_client, declaration)

    assert shown["eligible_for_payment"] is (state in ("eligible", "payable"))


@pytest.mark.parametrize("state", STATES)
def test_v1_voided_only_in_state_voided(provider_client, lead_provider, state):
    """api.md §16.13: a clawback is not `voided`."""
    declaration = DeclarationFactory(lead_provider=lead_provider, **{state: True})

    shown = attributes(provider_client, declaration)

    assert shown["voided"] is (state == "voided")
    assert shown["state"] == state.replace("_", "-")


def test_mentor_declaration_course(provider_client, lead_provider):
    declaration = DeclarationFactory(lead_provider=lead_provider, kind="mentor")

    assert attributes(provider_client, declaration)["course_identifier"] == "ecf-mentor"


# --- Which declarations (rules §4.11 sets 1 and 2) ------------------------------------------------


def test_own_declarations_are_visible_in_every_state(provider_client, lead_provider):
    mine = [DeclarationFactory(lead_provider=lead_provider, **{state: True}) for state in STATES]

    assert sorted(ids(provider_client.get(URL))) == sorted(str(declaration.id) for declaration in mine)


@pytest.mark.parametrize("induction_status", [InductionStatus.ACTIVE, InductionStatus.COMPLETED])
def test_previous_providers_declarations_are_shared_with_the_provider_training_them_now(
    provider_client, lead_provider, induction_status
):
    """PV-34 (active/completed)."""
    shared = other_providers_declaration(paid=True)
    moved_to(lead_provider, shared.enrolment, induction_status=induction_status)

    assert ids(provider_client.get(URL)) == [str(shared.id)]
    assert attributes(provider_client, shared)["state"] == "paid"


@pytest.mark.parametrize("end_date", [None, NOW])
def test_v1_declarations_omit_a_leavers_previous_providers_declarations(provider_client, lead_provider, end_date):
    """api.md §15: v3 shows another provider's declarations to a provider the person is leaving
    (rules §4.11 set 3); v1 and v2 do not."""
    shared = other_providers_declaration(eligible=True)
    moved_to(lead_provider, shared.enrolment, induction_status=InductionStatus.LEAVING, end_date=end_date)

    with clock.frozen(NOW):
        assert provider_client.get(URL).json() == {"data": []}
        assert provider_client.get(f"{URL}/{shared.id}").status_code == 404
        assert ids(provider_client.get("/api/v3/participant-declarations")) == [str(shared.id)]


@pytest.mark.parametrize("trait", ["voided", "ineligible", "awaiting_clawback", "clawed_back"])
def test_other_providers_voided_or_refunded_declarations_are_not_shared(provider_client, lead_provider, trait):
    shared = other_providers_declaration(**{trait: True})
    moved_to(lead_provider, shared.enrolment)

    assert provider_client.get(URL).json() == {"data": []}


def test_declarations_of_another_providers_participants_are_invisible(provider_client, lead_provider):
    theirs = other_providers_declaration(eligible=True)

    assert provider_client.get(URL).json() == {"data": []}
    response = provider_client.get(f"{URL}/{theirs.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_show_of_an_unknown_or_malformed_id_is_not_found(provider_client):
    for declaration_id in ("6f1c2a3e-0000-4000-8000-000000000000", "not-a-uuid"):
        assert provider_client.get(f"{URL}/{declaration_id}").status_code == 404


# --- Filters, order, pagination ----------------------------------------------------------------


def test_v1_declarations_updated_since_is_strict(provider_client, lead_provider):
    """api.md §6.2: v1/v2 compare with `>`, where v3 includes the instant itself."""
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        DeclarationFactory(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 6, 1, 10, 0, tzinfo=UTC)):
        recent = DeclarationFactory(lead_provider=lead_provider)

    assert provider_client.get(URL, {"filter[updated_since]": "2024-06-01T10:00:00Z"}).json() == {"data": []}
    assert ids(provider_client.get(URL, {"filter[updated_since]": "2024-06-01T09:59:59Z"})) == [str(recent.id)]
    assert ids(
        provider_client.get("/api/v3/participant-declarations", {"filter[updated_since]": "2024-06-01T10:00:00Z"})
    ) == [str(recent.id)]
    double_encoded = provider_client.get(f"{URL}?filter[updated_since]=2024-06-01T10%253A59%253A59%252B01%253A00")
    assert ids(double_encoded) == [str(recent.id)]
    assert len(ids(provider_client.get(URL, {"filter[updated_since]": ""}))) == 2


@pytest.mark.parametrize("value", ["2024-06-01", "yesterday", "2024-06-01T10:00:00 01:00"])
def test_invalid_updated_since_is_a_400(provider_client, value):
    response = provider_client.get(URL, {"filter[updated_since]": value})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "The filter '#/updated_since' must be a valid RCF3339 date",
                "code": "filter.invalid_date",
            }
        ]
    }


def test_participant_id_filter_takes_one_participant(provider_client, lead_provider):
    mine = DeclarationFactory(lead_provider=lead_provider)
    DeclarationFactory(lead_provider=lead_provider)

    assert ids(provider_client.get(URL, {"filter[participant_id]": str(mine.participant_id)})) == [str(mine.id)]
    assert len(ids(provider_client.get(URL, {"filter[participant_id]": ""}))) == 2


@pytest.mark.parametrize(
    "value", ["not-a-uuid", "6f1c2a3e-0000-4000-8000-000000000000,6f1c2a3e-0000-4000-8000-0000000"]
)
def test_v1_participant_id_filter_that_is_not_one_uuid_is_a_400(provider_client, value):
    """api.md §16.15: v3 ignores such values; v1/v2 answer 400 "Bad request"."""
    response = provider_client.get(URL, {"filter[participant_id]": value})

    assert response.status_code == 400
    assert [error["title"] for error in response.json()["errors"]] == ["Bad request"]


def test_show_applies_the_filters_too(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        declaration = DeclarationFactory(lead_provider=lead_provider)

    assert provider_client.get(f"{URL}/{declaration.id}").status_code == 200
    assert (
        provider_client.get(f"{URL}/{declaration.id}", {"filter[updated_since]": "2024-02-01T00:00:00Z"}).status_code
        == 404
    )


def test_cohort_filter_is_not_a_v1_filter(provider_client, lead_provider):
    DeclarationFactory(lead_provider=lead_provider, cohort=2024)

    assert len(ids(provider_client.get(URL, {"filter[cohort]": "2021"}))) == 1


def test_order_is_created_at_ascending(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 3, 1, tzinfo=UTC)):
        later = DeclarationFactory(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        earlier = DeclarationFactory(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 5, 1, tzinfo=UTC)):
        earlier.save()

    assert ids(provider_client.get(URL)) == [str(earlier.id), str(later.id)]


def test_pagination_cuts_pages_in_order(provider_client, lead_provider):
    declarations = []
    for day in range(1, 6):
        with clock.frozen(datetime(2024, 1, day, tzinfo=UTC)):
            declarations.append(str(DeclarationFactory(lead_provider=lead_provider).id))

    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "2"})) == declarations[2:4]
    assert provider_client.get(URL, {"page[per_page]": "2", "page[page]": "4"}).json() == {"data": []}


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    DeclarationFactory(lead_provider=lead_provider, eligible=True)
    provider_client.get("/api/v1/ping")  # records the token's first use, a write we don't count here

    def count_queries():
        # 1 token lookup, 1 page of ids (read model: visibility and filters), 1 of their rows, 2 for
        # the planner settings on and back (ecf.planner: rows by primary key)
        with django_assert_num_queries(5):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(ids(response))

    assert count_queries() == 1
    for trait in STATES * 3:
        DeclarationFactory(lead_provider=lead_provider, **{trait: True})
    assert count_queries() == 25


# --- POST and void: the same services, the v1 shape ---------------------------------------------------


def test_post_answers_in_the_v1_shape(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=lead_provider, fundable=False)
    body = {
        "data": {
            "type": "participant-declaration",
            "attributes": {
                "participant_id": str(ect.participant.id),
                "declaration_type": "started",
                "declaration_date": "2024-06-01T00:00:00Z",
                "course_identifier": "ecf-induction",
            },
        }
    }

    with clock.frozen(NOW):
        response = provider_client.post(URL, body, format="json")

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    declaration = Declaration.objects.get()
    assert data["id"] == str(declaration.id)
    assert list(data["attributes"]) == V1_ATTRIBUTES
    assert data["attributes"]["state"] == "submitted"
    assert data["attributes"]["eligible_for_payment"] is False
    assert data["attributes"]["voided"] is False
    assert data["attributes"]["declaration_date"] == "2024-06-01T00:00:00Z"


def test_post_validation_errors_are_the_services(provider_client):
    response = provider_client.post(URL, {"data": {"type": "participant-declaration", "attributes": {}}}, format="json")

    assert response.status_code == 422
    assert [error["title"] for error in response.json()["errors"]] == [
        "participant_id",
        "declaration_date",
        "declaration_type",
    ]


def test_post_without_the_envelope_is_a_400(provider_client):
    response = provider_client.post(URL, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "correct json data structure required. See API docs for reference",
                "code": "request.invalid_body",
            }
        ]
    }


@pytest.mark.parametrize("state", ["submitted", "eligible", "payable"])
def test_void_of_an_unpaid_declaration_answers_voided_in_the_v1_shape(provider_client, lead_provider, state):
    declaration = DeclarationFactory(lead_provider=lead_provider, **{state: True})

    with clock.frozen(NOW):
        response = provider_client.put(f"{URL}/{declaration.id}/void")

    assert response.status_code == 200, response.content
    shown = response.json()["data"]["attributes"]
    assert list(shown) == V1_ATTRIBUTES
    assert (shown["state"], shown["voided"], shown["eligible_for_payment"]) == ("voided", True, False)


def test_void_of_a_paid_declaration_awaits_clawback_and_is_not_voided(provider_client, lead_provider):
    with clock.frozen(datetime(2025, 2, 10, 12, 0, tzinfo=UTC)):
        declaration = DeclarationFactory(lead_provider=lead_provider, paid=True)
        StatementFactory(
            lead_provider=lead_provider,
            cohort=declaration.cohort,
            year=2025,
            month=4,
            deadline_date=date(2025, 3, 31),
            status=StatementStatus.OPEN,
        )
        response = provider_client.put(f"{URL}/{declaration.id}/void")

    assert response.status_code == 200, response.content
    shown = response.json()["data"]["attributes"]
    assert (shown["state"], shown["voided"], shown["eligible_for_payment"]) == ("awaiting-clawback", False, False)
    declaration.refresh_from_db()
    assert declaration.state == DeclarationState.AWAITING_CLAWBACK


def test_void_refusals_are_the_services(provider_client, lead_provider):
    declaration = DeclarationFactory(lead_provider=lead_provider, voided=True)

    response = provider_client.put(f"{URL}/{declaration.id}/void")

    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "title": "Invalid action",
                "detail": "This declaration has already been voided.",
                "code": "declaration.already_voided",
            }
        ]
    }


def test_another_providers_declaration_cannot_be_voided_even_when_shared(provider_client, lead_provider):
    shared = other_providers_declaration(paid=True)
    moved_to(lead_provider, shared.enrolment)

    assert provider_client.get(f"{URL}/{shared.id}").status_code == 200
    response = provider_client.put(f"{URL}/{shared.id}/void")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_void_of_unknown_or_malformed_id_is_not_found(provider_client):
    for declaration_id in ("6f1c2a3e-0000-4000-8000-000000000000", "not-a-uuid"):
        assert provider_client.put(f"{URL}/{declaration_id}/void").status_code == 404
