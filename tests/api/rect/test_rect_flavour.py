"""Issue 15: a rewrite-flavoured provider is served the rewrite's v3 at /api/v3/, end to end over
HTTP; an original-flavoured one gets exactly the original's v3; v1 and v2 stay the original's."""

from datetime import UTC, date, datetime

import pytest
from rest_framework.test import APIClient

from declarations.models import Declaration
from ecf import clock
from participants.models import (
    ContractFlavour,
    EnrolmentKind,
    LeadProvider,
    Participant,
    SchoolCohort,
    WorkingPattern,
)
from participants.tokens import api_token_create
from statements.models import StatementStatus
from tests.factories import (
    ProviderRelationshipFactory,
    SchoolCohortFactory,
    SchoolFactory,
    StatementFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db

TODAY = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
RECT_NOT_FOUND = {
    "errors": [
        {
            "title": "Resource not found",
            "detail": "Nothing could be found for the provided details",
            "code": "resource.not_found",
        }
    ]
}


def client_for(lead_provider: LeadProvider) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


@pytest.fixture
def rect_provider(db):
    return LeadProvider.objects.create(name="Rewrite Institute", contract_flavour=ContractFlavour.REWRITE)


@pytest.fixture
def rect_client(rect_provider):
    return client_for(rect_provider)


@pytest.fixture
def ect(rect_provider):
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        return enrolled_participant(
            lead_provider=rect_provider,
            working_pattern=WorkingPattern.PART_TIME,
            induction_start_date=date(2024, 9, 1),
            most_recent_induction_period_end_date=date(2025, 7, 20),
        )


@pytest.fixture
def statements(rect_provider):
    return [
        StatementFactory(
            lead_provider=rect_provider,
            cohort=2024,
            year=2025,
            month=1,
            deadline_date=date(2024, 12, 31),
            payment_date=date(2025, 1, 25),
            output_fee=True,
            status=StatementStatus.OPEN,
        )
    ]


def at_today(call, *args, **kwargs):
    with clock.frozen(TODAY):
        return call(*args, format="json", **kwargs)


def declaration_body(participant, **attributes) -> dict:
    return {
        "data": {
            "type": "participant-declaration",
            "attributes": {
                "participant_id": str(participant.id),
                "declaration_type": "started",
                "declaration_date": "2024-09-02T00:00:00Z",
                "course_identifier": "ecf-induction",
                **attributes,
            },
        }
    }


def test_a_rewrite_flavoured_provider_syncs_declares_voids_acts_and_partners(
    rect_client, rect_provider, ect, statements
):
    # Sync: the rewrite's paths and participant fields, with the data behind them.
    participants = at_today(rect_client.get, "/api/v3/participants")
    assert participants.status_code == 200, participants.content
    [person] = participants.json()["data"]
    [enrolment] = person["attributes"]["ecf_enrolments"]
    assert "teacher_reference_number_validated" not in enrolment
    assert enrolment["working_pattern"] == "part_time"
    assert enrolment["overall_induction_start_date"] == "2024-09-01"
    assert enrolment["most_recent_induction_period_end_date"] == "2025-07-20"
    assert at_today(rect_client.get, f"/api/v3/participants/{ect.participant.id}").json()["data"] == person

    # Declare: the rewrite's representation; a resend is refused in the rewrite's words, with its code.
    declared = at_today(rect_client.post, "/api/v3/participant-declarations", declaration_body(ect.participant))
    assert declared.status_code == 200, declared.content
    attributes = declared.json()["data"]["attributes"]
    assert "has_passed" not in attributes
    assert attributes["state"] == "eligible"
    again = at_today(rect_client.post, "/api/v3/participant-declarations", declaration_body(ect.participant))
    assert again.status_code == 422
    assert again.json() == {
        "errors": [
            {
                "title": "declaration_type",
                "detail": "A declaration has already been submitted that will be, or has been, paid for this event.",
                "code": "declaration.duplicate",
            }
        ]
    }

    # Void.
    declaration_id = declared.json()["data"]["id"]
    voided = at_today(rect_client.put, f"/api/v3/participant-declarations/{declaration_id}/void")
    assert voided.status_code == 200, voided.content
    assert voided.json()["data"]["attributes"]["state"] == "voided"
    twice = at_today(rect_client.put, f"/api/v3/participant-declarations/{declaration_id}/void")
    assert twice.json()["errors"] == [
        {
            "title": "participant_declaration_id",
            "detail": "The declaration has already been voided.",
            "code": "declaration.already_voided",
        }
    ]

    # Act: the rewrite's extra withdrawal reason is accepted and shown.
    withdraw_body = {
        "data": {
            "type": "participant-withdraw",
            "attributes": {"course_identifier": "ecf-induction", "reason": "changed-lead-provider"},
        }
    }
    withdrawn = at_today(rect_client.put, f"/api/v3/participants/{ect.participant.id}/withdraw", withdraw_body)
    assert withdrawn.status_code == 200, withdrawn.content
    [enrolment] = withdrawn.json()["data"]["attributes"]["ecf_enrolments"]
    assert enrolment["training_status"] == "withdrawn"
    assert enrolment["withdrawal"]["reason"] == "changed-lead-provider"
    assert enrolment["participant_status"] in {"active", "joining", "leaving", "left"}
    again = at_today(rect_client.put, f"/api/v3/participants/{ect.participant.id}/withdraw", withdraw_body)
    assert again.json()["errors"] == [
        {
            "title": "participant_id",
            "detail": "The '#/participant_id' is already withdrawn.",
            "code": "participant.already_withdrawn",
        }
    ]

    # Partner: no challenge fields, the count of participants training in it.
    school = SchoolFactory()
    SchoolCohortFactory(school=school, cohort=ect.cohort)
    ProviderRelationshipFactory(lead_provider=rect_provider, delivery_partner=ect.delivery_partner, cohort=2024)
    partnership_body = {
        "data": {
            "type": "partnership",
            "attributes": {
                "cohort": "2024",
                "school_id": str(school.id),
                "delivery_partner_id": str(ect.delivery_partner.id),
            },
        }
    }
    created = at_today(rect_client.post, "/api/v3/partnerships", partnership_body)
    assert created.status_code == 200, created.content
    partnership = created.json()["data"]["attributes"]
    assert partnership["participants_currently_training"] == 0
    assert not {"status", "challenged_reason", "challenged_at"} & set(partnership)
    [existing] = [
        row
        for row in at_today(rect_client.get, "/api/v3/partnerships").json()["data"]
        if row["id"] == str(ect.partnership.id)
    ]
    assert existing["attributes"]["participants_currently_training"] == 0  # the one ECT was withdrawn
    assert Declaration.objects.count() == 1


def test_participants_currently_training_counts_ongoing_active_training(rect_client, ect):
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        enrolled_participant(lead_provider=ect.lead_provider, school=ect.school, kind=EnrolmentKind.MENTOR)

    shown = at_today(rect_client.get, f"/api/v3/partnerships/{ect.partnership.id}").json()["data"]["attributes"]

    assert shown["participants_currently_training"] == 2


def test_schools_show_expression_of_interest_and_the_tutor_only_to_the_expected_provider(rect_client, rect_provider):
    school = SchoolFactory(induction_tutor_name="Sam Tutor", induction_tutor_email="sam@school.example")
    SchoolCohortFactory(school=school, cohort=2024, expression_of_interest_lead_provider=rect_provider)
    other = LeadProvider.objects.create(name="Other", contract_flavour=ContractFlavour.REWRITE)

    mine = at_today(rect_client.get, f"/api/v3/schools/{school.id}?filter[cohort]=2024").json()["data"]["attributes"]
    theirs = at_today(client_for(other).get, f"/api/v3/schools/{school.id}?filter[cohort]=2024").json()["data"]

    assert mine["expression_of_interest"] is True
    assert (mine["induction_tutor_name"], mine["induction_tutor_email"]) == ("Sam Tutor", "sam@school.example")
    assert theirs["attributes"]["expression_of_interest"] is False
    assert theirs["attributes"]["induction_tutor_name"] is None
    assert SchoolCohort.objects.get(school=school).expression_of_interest_lead_provider == rect_provider


def test_the_rewrite_programme_choice_vocabulary(rect_client):
    school = SchoolFactory()
    SchoolCohortFactory(school=school, cohort=2024, induction_programme_choice="no_early_career_teachers")

    shown = at_today(rect_client.get, f"/api/v3/schools/{school.id}?filter[cohort]=2024").json()["data"]

    assert shown["attributes"]["induction_programme_choice"] == "not_yet_known"


def test_the_rewrite_errors_not_found_and_bad_filters(rect_client, ect):
    assert at_today(rect_client.get, "/api/v3/participants/ecf").json() == RECT_NOT_FOUND
    assert (
        at_today(rect_client.get, "/api/v3/participants/00000000-0000-0000-0000-000000000000").json() == RECT_NOT_FOUND
    )
    bad_date = at_today(rect_client.get, "/api/v3/participants?filter[updated_since]=yesterday")
    assert bad_date.status_code == 400
    assert bad_date.json() == {
        "errors": [
            {
                "title": "Bad request",
                "detail": "The filter '#/updated_since' must be a valid ISO 8601 date",
                "code": "filter.invalid_date",
            }
        ]
    }
    bad_page = at_today(rect_client.get, "/api/v3/participants?page[page]=0")
    assert bad_page.json()["errors"][0]["detail"] == (
        "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid positive number"
    )
    bad_body = at_today(rect_client.post, "/api/v3/participant-declarations", {"nodata": True})
    assert bad_body.json()["errors"][0]["detail"] == "Correct json data structure required. See API docs for reference."


def test_the_rewrite_gives_one_error_item_per_message(rect_client, ect):
    body = {"data": {"type": "participant-withdraw", "attributes": {"course_identifier": "ecf-induction"}}}

    response = at_today(rect_client.put, f"/api/v3/participants/{ect.participant.id}/withdraw", body)

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"title": "reason", "detail": "Enter a '#/reason'.", "code": "participant.reason_missing"},
        {
            "title": "reason",
            "detail": "The entered '#/reason' is not recognised for the given participant. "
            "Check details and try again.",
            "code": "participant.reason_invalid",
        },
    ]


def test_an_original_flavoured_provider_gets_exactly_the_original_v3(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=lead_provider)

    assert at_today(provider_client.get, "/api/v3/participants").json() == {"error": "Resource not Found"}
    [enrolment] = at_today(provider_client.get, "/api/v3/participants/ecf").json()["data"][0]["attributes"][
        "ecf_enrolments"
    ]
    assert "teacher_reference_number_validated" in enrolment
    assert "working_pattern" not in enrolment
    body = {
        "data": {
            "type": "participant-withdraw",
            "attributes": {"course_identifier": "ecf-induction", "reason": "changed-lead-provider"},
        }
    }
    refused = at_today(provider_client.put, f"/api/v3/participants/ecf/{ect.participant.id}/withdraw", body)
    assert refused.json() == {
        "errors": [
            {
                "title": "reason",
                "detail": "The property '#/reason' must be a valid reason",
                "code": "participant.reason_invalid",
            }
        ]
    }


def test_v1_and_v2_stay_the_original_for_a_rewrite_flavoured_provider(rect_client, ect):
    for version in ("v1", "v2"):
        response = at_today(rect_client.get, f"/api/{version}/participants/ecf")
        assert response.status_code == 200, response.content
        assert "teacher_reference_number_validated" in response.json()["data"][0]["attributes"]
        assert at_today(rect_client.get, f"/api/{version}/participants/nothing-here/x").json() == {
            "error": "Resource not Found"
        }


def test_without_a_token_the_rewrite_paths_answer_401(api_client):
    response = api_client.get("/api/v3/participants")

    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied"}


def test_the_flavour_costs_no_second_token_lookup(rect_client, ect):
    """The middleware's lookup is reused by the DRF authentication (api/flavours.py)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        at_today(rect_client.get, "/api/v3/delivery-partners")
    assert sum("apitoken" in query["sql"].lower() and "select" in query["sql"].lower()[:10] for query in queries) == 1


def test_the_rewrite_sorts_transfers(rect_client, rect_provider):
    from tests.worlds import build_world

    now = build_world(rect_provider)
    build_world(rect_provider)
    with clock.frozen(now):
        ascending = [
            row["id"] for row in rect_client.get("/api/v3/participants/transfers?sort=created_at").json()["data"]
        ]
        descending = [
            row["id"] for row in rect_client.get("/api/v3/participants/transfers?sort=-created_at").json()["data"]
        ]

    assert len(ascending) >= 2
    people = Participant.objects.filter(id__in=ascending)
    assert ascending == [str(pk) for pk in people.order_by("created_at", "id").values_list("id", flat=True)]
    assert descending == [str(pk) for pk in people.order_by("-created_at", "id").values_list("id", flat=True)]
