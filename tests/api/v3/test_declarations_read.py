"""GET /api/v3/participant-declarations and /{id} (rules §4.1, §4.7, §4.8, §4.11; api.md §9.3, §10.3)."""

from datetime import UTC, datetime, timedelta

import pytest

from ecf import clock
from participants.models import InductionStatus
from tests.factories import (
    DeclarationFactory,
    LeadProviderFactory,
    PartnershipFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/participant-declarations"
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def attributes(client, declaration) -> dict:
    response = client.get(f"{URL}/{declaration.id}")
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
    """A declaration by another provider B for a participant who trains with B."""
    theirs = enrolled_participant(lead_provider=LeadProviderFactory())
    return DeclarationFactory(enrolment=theirs.enrolment, lead_provider=theirs.lead_provider, **traits)


# --- Representation -------------------------------------------------------------------------


def test_declaration_shows_every_attribute_in_order(provider_client, lead_provider):
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
    ect = enrolled_participant(lead_provider=lead_provider, school=mentor.school, mentor=mentor.enrolment)
    with clock.frozen(NOW):
        declaration = DeclarationFactory(
            enrolment=ect.enrolment,
            eligible=True,
            declaration_date=datetime(2024, 10, 1, 9, 30, 15, 123456, tzinfo=UTC),
            evidence_held="training-event-attended",
        )

    response = provider_client.get(f"{URL}/{declaration.id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    data = response.json()["data"]
    assert data["id"] == str(declaration.id)
    assert data["type"] == "participant-declaration"
    assert list(data["attributes"].items()) == [
        ("participant_id", str(ect.participant.id)),
        ("declaration_type", "started"),
        ("course_identifier", "ecf-induction"),
        ("declaration_date", "2024-10-01T09:30:15Z"),
        ("mentor_id", str(mentor.participant.id)),
        ("state", "eligible"),
        ("updated_at", "2024-10-15T12:00:00Z"),
        ("created_at", "2024-10-15T12:00:00Z"),
        ("delivery_partner_id", str(ect.delivery_partner.id)),
        ("statement_id", str(declaration.statement_id)),
        ("clawback_statement_id", None),
        ("ineligible_for_funding_reason", None),
        ("uplift_paid", False),
        ("evidence_held", "training-event-attended"),
        ("has_passed", None),
        ("lead_provider_name", "Ambition Institute"),
    ]


def test_nullable_attributes_are_present_as_null(provider_client, lead_provider):
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
    declaration = DeclarationFactory(enrolment=mentor.enrolment, delivery_partner=None)

    shown = attributes(provider_client, declaration)

    assert shown["course_identifier"] == "ecf-mentor"
    assert shown["mentor_id"] is None
    assert shown["delivery_partner_id"] is None
    assert shown["statement_id"] is None
    assert shown["evidence_held"] is None
    assert shown["has_passed"] is None


@pytest.mark.parametrize(
    ("trait", "state", "statement", "clawback_statement"),
    [
        ("submitted", "submitted", None, None),
        ("eligible", "eligible", "statement", None),
        ("payable", "payable", "statement", None),
        ("paid", "paid", "statement", None),
        ("voided", "voided", None, None),
        ("ineligible", "ineligible", None, None),
        ("awaiting_clawback", "awaiting-clawback", "statement", "clawback_statement"),
        ("clawed_back", "clawed-back", "statement", "clawback_statement"),
    ],
)
def test_own_declarations_are_visible_in_every_state_with_their_statements(
    provider_client, lead_provider, trait, state, statement, clawback_statement
):
    """statement_id is the billable line's statement, kept through a clawback (rules §4.8, PV-20, PV-21)."""
    with clock.frozen(NOW):
        declaration = DeclarationFactory(lead_provider=lead_provider, **{trait: True})

    shown = attributes(provider_client, declaration)

    assert ids(provider_client.get(URL)) == [str(declaration.id)]
    assert shown["state"] == state
    assert shown["statement_id"] == (statement and str(getattr(declaration, statement).id))
    assert shown["clawback_statement_id"] == (clawback_statement and str(getattr(declaration, clawback_statement).id))
    if trait in ("voided", "ineligible"):  # they do have a (voided / ineligible) line on a statement
        assert declaration.statement_id is not None
    if trait == "awaiting_clawback":
        assert shown["statement_id"] != shown["clawback_statement_id"]


def test_ineligible_duplicate_is_shown_as_duplicate_declaration(provider_client, lead_provider):
    ineligible = DeclarationFactory(lead_provider=lead_provider, ineligible=True)
    eligible = DeclarationFactory(lead_provider=lead_provider, eligible=True)

    assert attributes(provider_client, ineligible)["ineligible_for_funding_reason"] == "duplicate_declaration"
    assert attributes(provider_client, eligible)["ineligible_for_funding_reason"] is None


@pytest.mark.parametrize(
    ("kind", "declaration_type", "trait", "uplifts", "expected"),
    [
        ("ect", "started", "paid", {"sparsity_uplift": True}, True),
        ("ect", "started", "paid", {"pupil_premium_uplift": True}, True),
        ("ect", "started", "awaiting_clawback", {"sparsity_uplift": True}, True),
        ("ect", "started", "clawed_back", {"pupil_premium_uplift": True}, True),
        ("ect", "started", "paid", {}, False),
        ("ect", "started", "eligible", {"sparsity_uplift": True}, False),
        ("ect", "started", "payable", {"sparsity_uplift": True}, False),
        ("ect", "retained-1", "paid", {"sparsity_uplift": True}, False),
        ("mentor", "started", "paid", {"sparsity_uplift": True, "pupil_premium_uplift": True}, False),
    ],
)
def test_uplift_paid_only_for_paid_ect_started_with_an_uplift(
    provider_client, lead_provider, kind, declaration_type, trait, uplifts, expected
):
    declaration = DeclarationFactory(
        lead_provider=lead_provider, kind=kind, declaration_type=declaration_type, **uplifts, **{trait: True}
    )

    assert attributes(provider_client, declaration)["uplift_paid"] is expected


def test_lead_provider_name_is_the_submitters(provider_client, lead_provider):
    submitter = LeadProviderFactory(name="Teach First")
    theirs = enrolled_participant(lead_provider=submitter)
    declaration = DeclarationFactory(enrolment=theirs.enrolment, lead_provider=submitter, paid=True)
    moved_to(lead_provider, theirs.enrolment)

    assert attributes(provider_client, declaration)["lead_provider_name"] == "Teach First"


# --- Visibility (rules §4.11) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("induction_status", "end_date", "visible"),
    [
        (InductionStatus.ACTIVE, None, True),
        (InductionStatus.COMPLETED, None, True),
        (InductionStatus.WITHDRAWN, None, False),
        (InductionStatus.CHANGED, None, False),
        (InductionStatus.LEAVING, None, True),
        (InductionStatus.LEAVING, NOW, True),
        (InductionStatus.LEAVING, NOW - timedelta(days=4 * 365), False),
    ],
)
def test_declarations_by_a_previous_provider_stay_visible_to_the_new_one(
    provider_client, lead_provider, induction_status, end_date, visible
):
    """PV-34: B's eligible `started` for P, dated 5 days ago; P now has a record with A."""
    with clock.frozen(NOW):
        declaration = other_providers_declaration(eligible=True, declaration_date=NOW - timedelta(days=5))
        moved_to(lead_provider, declaration.enrolment, induction_status=induction_status, end_date=end_date)

        listed = ids(provider_client.get(URL))
        shown = provider_client.get(f"{URL}/{declaration.id}")

    assert listed == ([str(declaration.id)] if visible else [])
    assert shown.status_code == (200 if visible else 404)


def test_leaving_record_ending_on_the_declaration_date_still_shows_it(provider_client, lead_provider):
    declared_at = NOW - timedelta(days=5)
    declaration = other_providers_declaration(paid=True, declaration_date=declared_at)
    moved_to(lead_provider, declaration.enrolment, induction_status=InductionStatus.LEAVING, end_date=declared_at)
    earlier = other_providers_declaration(paid=True, declaration_date=declared_at)
    moved_to(
        lead_provider,
        earlier.enrolment,
        induction_status=InductionStatus.LEAVING,
        end_date=declared_at - timedelta(seconds=1),
    )

    assert ids(provider_client.get(URL)) == [str(declaration.id)]


@pytest.mark.parametrize("trait", ["submitted", "eligible", "payable", "paid"])
def test_other_providers_declarations_in_payment_states_are_shared(provider_client, lead_provider, trait):
    declaration = other_providers_declaration(**{trait: True})
    moved_to(lead_provider, declaration.enrolment)

    assert ids(provider_client.get(URL)) == [str(declaration.id)]
    assert provider_client.get(f"{URL}/{declaration.id}").status_code == 200


@pytest.mark.parametrize("trait", ["voided", "ineligible", "awaiting_clawback", "clawed_back"])
def test_other_providers_voided_or_refused_declarations_are_invisible(provider_client, lead_provider, trait):
    declaration = other_providers_declaration(**{trait: True})
    moved_to(lead_provider, declaration.enrolment)

    assert provider_client.get(URL).json() == {"data": []}
    response = provider_client.get(f"{URL}/{declaration.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_declarations_of_another_providers_participants_are_invisible(provider_client, lead_provider):
    mine = DeclarationFactory(lead_provider=lead_provider)
    theirs = other_providers_declaration(paid=True)

    assert ids(provider_client.get(URL)) == [str(mine.id)]
    assert provider_client.get(f"{URL}/{theirs.id}").status_code == 404


def test_own_declarations_stay_visible_after_the_participant_leaves(provider_client, lead_provider):
    declaration = DeclarationFactory(lead_provider=lead_provider, paid=True)
    period = declaration.enrolment.training_periods.get()
    period.induction_status = InductionStatus.CHANGED
    period.end_date = NOW
    period.save()
    moved_to(LeadProviderFactory(), declaration.enrolment)

    assert ids(provider_client.get(URL)) == [str(declaration.id)]


def test_a_mentor_enrolment_with_the_provider_shares_the_persons_ect_declarations(provider_client, lead_provider):
    """The rule looks at the person: any of their enrolments with this provider counts."""
    declaration = other_providers_declaration(eligible=True)
    enrolled_participant(lead_provider=lead_provider, participant=declaration.participant, kind="mentor")

    assert ids(provider_client.get(URL)) == [str(declaration.id)]


def test_declarations_seen_through_a_challenged_partnership_stay_visible(provider_client, lead_provider):
    """Reads keep the original's behaviour: its declarations query does not exclude challenged partnerships."""
    declaration = other_providers_declaration(eligible=True)
    period = moved_to(lead_provider, declaration.enrolment)
    period.partnership.challenge_reason = "mistake"
    period.partnership.challenged_at = clock.now()
    period.partnership.save()

    assert ids(provider_client.get(URL)) == [str(declaration.id)]


def test_show_of_an_unknown_or_malformed_id_is_not_found(provider_client, lead_provider):
    DeclarationFactory(lead_provider=lead_provider)

    assert provider_client.get(f"{URL}/not-a-uuid").status_code == 404
    assert provider_client.get(f"{URL}/00000000-0000-0000-0000-000000000000").status_code == 404


def test_requests_without_a_token_are_unauthorised(api_client):
    response = api_client.get(URL)

    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied"}


# --- Filters -----------------------------------------------------------------------------------


def test_cohort_filter_uses_the_declarations_own_cohort(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, cohort=2024)
    declared_in_2023 = DeclarationFactory(enrolment=ect.enrolment, cohort=2023)  # cohort moved after declaring
    declared_in_2024 = DeclarationFactory(lead_provider=lead_provider, cohort=2024, declaration_type="retained-1")
    declared_in_2025 = DeclarationFactory(lead_provider=lead_provider, cohort=2025)

    assert ids(provider_client.get(URL, {"filter[cohort]": "2023"})) == [str(declared_in_2023.id)]
    assert ids(provider_client.get(URL, {"filter[cohort]": "2024,2025"})) == [
        str(declared_in_2024.id),
        str(declared_in_2025.id),
    ]
    assert ids(provider_client.get(URL, {"filter[cohort]": "1999"})) == []
    assert ids(provider_client.get(URL, {"filter[cohort]": "abc"})) == []
    # No cohort restriction by default, and an empty list is no filter (as the original).
    assert len(ids(provider_client.get(URL))) == 3
    assert len(ids(provider_client.get(URL, {"filter[cohort]": ""}))) == 3


def test_participant_id_filter_takes_a_list_and_ignores_non_uuids(provider_client, lead_provider):
    first = DeclarationFactory(lead_provider=lead_provider)
    second = DeclarationFactory(lead_provider=lead_provider)
    third = DeclarationFactory(lead_provider=lead_provider)

    both = f"{first.participant_id},{third.participant_id}"
    assert ids(provider_client.get(URL, {"filter[participant_id]": both})) == [str(first.id), str(third.id)]
    assert ids(provider_client.get(URL, {"filter[participant_id]": f"abc,{second.participant_id}"})) == [str(second.id)]
    assert ids(provider_client.get(URL, {"filter[participant_id]": "abc"})) == []
    assert len(ids(provider_client.get(URL, {"filter[participant_id]": ""}))) == 3


def test_delivery_partner_id_filter_takes_a_list(provider_client, lead_provider):
    first = DeclarationFactory(lead_provider=lead_provider)
    second = DeclarationFactory(lead_provider=lead_provider)
    DeclarationFactory(lead_provider=lead_provider)

    both = f"{first.delivery_partner_id},{second.delivery_partner_id}"
    assert ids(provider_client.get(URL, {"filter[delivery_partner_id]": both})) == [str(first.id), str(second.id)]
    assert ids(provider_client.get(URL, {"filter[delivery_partner_id]": "not-a-uuid"})) == []


def test_filters_apply_to_other_providers_declarations_too(provider_client, lead_provider):
    declaration = other_providers_declaration(eligible=True)
    moved_to(lead_provider, declaration.enrolment)
    DeclarationFactory(lead_provider=lead_provider, cohort=2025)

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024"})) == [str(declaration.id)]
    assert ids(provider_client.get(URL, {"filter[delivery_partner_id]": str(declaration.delivery_partner_id)})) == [
        str(declaration.id)
    ]


def test_updated_since_is_inclusive_on_the_declarations_updated_at(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        DeclarationFactory(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 6, 1, 10, 0, tzinfo=UTC)):
        recent = DeclarationFactory(lead_provider=lead_provider)

    assert ids(provider_client.get(URL, {"filter[updated_since]": "2024-06-01T10:00:00Z"})) == [str(recent.id)]
    assert ids(provider_client.get(URL, {"filter[updated_since]": "2024-06-01T10:00:01Z"})) == []
    double_encoded = provider_client.get(f"{URL}?filter[updated_since]=2024-06-01T11%253A00%253A00%252B01%253A00")
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


def test_filter_that_is_not_a_hash_is_a_400(provider_client):
    response = provider_client.get(URL, {"filter": "abc"})

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"title": "Bad parameter", "detail": "Filter must be a hash", "code": "filter.not_a_hash"}]
    }


# --- Order and pagination ------------------------------------------------------------------------


def test_default_order_is_created_at_ascending_and_sort_is_ignored(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 3, 1, tzinfo=UTC)):
        later = DeclarationFactory(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        earlier = DeclarationFactory(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 5, 1, tzinfo=UTC)):
        earlier.save()  # a later update does not move it

    expected = [str(earlier.id), str(later.id)]
    assert ids(provider_client.get(URL)) == expected
    assert ids(provider_client.get(URL, {"sort": "-created_at"})) == expected


def test_pagination_cuts_pages_in_order(provider_client, lead_provider):
    declarations = []
    for day in range(1, 6):
        with clock.frozen(datetime(2024, 1, day, tzinfo=UTC)):
            declarations.append(str(DeclarationFactory(lead_provider=lead_provider).id))

    assert ids(provider_client.get(URL, {"page[per_page]": "2"})) == declarations[:2]
    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "2"})) == declarations[2:4]
    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "3"})) == declarations[4:]
    assert provider_client.get(URL, {"page[per_page]": "2", "page[page]": "4"}).json() == {"data": []}
    response = provider_client.get(URL, {"page[per_page]": "0"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == (
        "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number (equal and more than 1)"
    )


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    DeclarationFactory(lead_provider=lead_provider, eligible=True)
    provider_client.get("/api/v3/ping")  # records the token's first use, a write we don't count here

    def count_queries(params=None):
        # 1 token lookup, 1 page of ids (read model: visibility and filters), 1 of their rows with the
        # submitter's name, 2 for the planner settings on and back (ecf.planner: rows by primary key)
        with django_assert_num_queries(5):
            response = provider_client.get(URL, {"page[per_page]": "3000", **(params or {})})
        return len(response.json()["data"])

    assert count_queries() == 1
    for trait in ["submitted", "paid", "awaiting_clawback", "clawed_back", "voided", "ineligible"] * 4:
        DeclarationFactory(lead_provider=lead_provider, **{trait: True})
    for _ in range(3):
        shared = other_providers_declaration(paid=True)
        moved_to(lead_provider, shared.enrolment, induction_status=InductionStatus.LEAVING)
    assert count_queries() == 28
    assert count_queries({"filter[cohort]": "2024", "filter[updated_since]": "2020-01-01T00:00:00Z"}) == 28


def test_show_takes_one_query_after_the_token(provider_client, lead_provider, django_assert_num_queries):
    declaration = DeclarationFactory(lead_provider=lead_provider, clawed_back=True)
    provider_client.get("/api/v3/ping")

    # 1 token lookup, 1 visible declaration by id
    with django_assert_num_queries(2):
        assert provider_client.get(f"{URL}/{declaration.id}").status_code == 200
