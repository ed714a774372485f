"""GET /api/v1/participants/ecf, /{id} and the participant actions (api.md §9.1, §10.1, §11.2).

v1 lists one flat item per training record. v2 routes the same views (tests/api/v2 checks they
agree); the version differences have tests named after them.
"""

from datetime import UTC, datetime, timedelta

import pytest

from ecf import clock
from participants.models import EligibilityReason, EligibilityStatus, InductionStatus
from tests.factories import (
    LeadProviderFactory,
    ParticipantFactory,
    PartnershipFactory,
    TrainingPeriodFactory,
    enrolled_participant,
    get_schedule,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/participants/ecf"
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
NOW_TEXT = "2024-10-15T12:00:00Z"
COLUMNS = [
    "email",
    "full_name",
    "mentor_id",
    "school_urn",
    "participant_type",
    "cohort",
    "status",
    "teacher_reference_number",
    "teacher_reference_number_validated",
    "eligible_for_funding",
    "pupil_premium_uplift",
    "sparsity_uplift",
    "training_status",
    "training_record_id",
    "schedule_identifier",
    "updated_at",
]
NOT_RECOGNISED = (
    "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
)


def items(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["data"]


def ids(response) -> list[str]:
    return [item["id"] for item in items(response)]


def shown(client, participant) -> dict:
    response = client.get(f"{URL}/{participant.id}")
    assert response.status_code == 200, response.content
    return response.json()["data"]["attributes"]


def act(client, url, action, **attributes):
    body = {"data": {"type": f"participant-{action}", "attributes": attributes}}
    with clock.frozen(NOW):
        return client.put(f"{url}/{action}", body, format="json")


# --- Representation -------------------------------------------------------------------------


def test_training_record_shows_every_attribute_in_order(provider_client, lead_provider):
    with clock.frozen(NOW):
        mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
        ect = enrolled_participant(
            lead_provider=lead_provider,
            school=mentor.school,
            mentor=mentor.enrolment,
            sparsity_uplift=True,
            validation_trn=None,
        )

    response = provider_client.get(f"{URL}/{ect.participant.id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    data = response.json()["data"]
    assert data["id"] == str(ect.participant.id)
    assert data["type"] == "participant"
    assert list(data["attributes"]) == COLUMNS
    assert data["attributes"] == {
        "email": ect.participant.email,
        "full_name": ect.participant.full_name,
        "mentor_id": str(mentor.participant.id),
        "school_urn": ect.school.urn,
        "participant_type": "ect",
        "cohort": "2024",
        "status": "active",
        "teacher_reference_number": ect.participant.trn,
        "teacher_reference_number_validated": True,
        "eligible_for_funding": True,
        "pupil_premium_uplift": False,
        "sparsity_uplift": True,
        "training_status": "active",
        "training_record_id": str(ect.enrolment.id),
        "schedule_identifier": "ecf-standard-september",
        "updated_at": NOW_TEXT,
    }


def test_mentor_record_has_no_mentor_id(provider_client, lead_provider):
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")

    attributes = shown(provider_client, mentor.participant)

    assert attributes["participant_type"] == "mentor"
    assert attributes["mentor_id"] is None


def test_preferred_email_of_the_period_wins_over_the_persons(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider)
    ect.training_period.email = "school.address@example.com"
    ect.training_period.save()

    assert shown(provider_client, ect.participant)["email"] == "school.address@example.com"


def test_v1_teacher_reference_number_falls_back_to_the_validation_trn(provider_client, lead_provider):
    ect = enrolled_participant(
        lead_provider=lead_provider, participant=ParticipantFactory(trn=None), validation_trn="7654321"
    )

    attributes = shown(provider_client, ect.participant)

    assert attributes["teacher_reference_number"] == "7654321"
    assert attributes["teacher_reference_number_validated"] is True


def test_without_any_trn_the_number_and_its_validation_are_null(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, participant=ParticipantFactory(trn=None))

    attributes = shown(provider_client, ect.participant)

    assert attributes["teacher_reference_number"] is None
    assert attributes["teacher_reference_number_validated"] is None


@pytest.mark.parametrize(
    ("status", "reason", "expected_funding", "expected_validated"),
    [
        (EligibilityStatus.ELIGIBLE, EligibilityReason.NONE, True, True),
        (EligibilityStatus.INELIGIBLE, EligibilityReason.PREVIOUS_INDUCTION, False, True),
        (EligibilityStatus.MANUAL_CHECK, EligibilityReason.DIFFERENT_TRN, None, False),
        (None, EligibilityReason.NONE, None, False),
    ],
)
def test_eligibility_fields_follow_the_funding_check(
    provider_client, lead_provider, status, reason, expected_funding, expected_validated
):
    ect = enrolled_participant(
        lead_provider=lead_provider, fundable=False, eligibility_status=status, eligibility_reason=reason
    )

    attributes = shown(provider_client, ect.participant)

    assert attributes["eligible_for_funding"] is expected_funding
    assert attributes["teacher_reference_number_validated"] is expected_validated


@pytest.mark.parametrize(
    ("induction_status", "end_offset", "expected"),
    [
        (InductionStatus.ACTIVE, None, "active"),
        (InductionStatus.COMPLETED, None, "active"),
        (InductionStatus.LEAVING, 30, "active"),
        (InductionStatus.LEAVING, -1, "active"),
        (InductionStatus.WITHDRAWN, None, "withdrawn"),
        (InductionStatus.CHANGED, None, "withdrawn"),
    ],
)
def test_v1_status_is_active_for_a_leaver_and_withdrawn_once_withdrawn_or_changed(
    provider_client, lead_provider, induction_status, end_offset, expected
):
    """api.md §8: unlike v3's participant_status, a leaving record stays `active`, even after it ended."""
    with clock.frozen(NOW):
        ect = enrolled_participant(lead_provider=lead_provider, start_date=NOW - timedelta(days=60))
        ect.training_period.induction_status = induction_status
        ect.training_period.end_date = None if end_offset is None else NOW + timedelta(days=end_offset)
        ect.training_period.save()

        assert shown(provider_client, ect.participant)["status"] == expected


def test_training_status_is_the_providers_not_the_schools(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, training_status="deferred")

    attributes = shown(provider_client, ect.participant)

    assert attributes["training_status"] == "deferred"
    assert attributes["status"] == "active"


def test_updated_at_is_the_latest_of_person_enrolment_and_period(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)):
        ect.training_period.save()

    assert shown(provider_client, ect.participant)["updated_at"] == "2024-05-06T07:08:09Z"


def test_cohort_shows_the_school_cohort_and_schedule_the_latest_period(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider, start_date=datetime(2024, 9, 1, tzinfo=UTC))
    ect.training_period.end_date = datetime(2024, 12, 1, tzinfo=UTC)
    ect.training_period.induction_status = InductionStatus.CHANGED
    ect.training_period.save()
    TrainingPeriodFactory(
        enrolment=ect.enrolment,
        partnership=ect.partnership,
        start_date=datetime(2024, 12, 1, tzinfo=UTC),
        schedule=get_schedule(cohort=2024, identifier="ecf-standard-january"),
    )

    attributes = shown(provider_client, ect.participant)

    assert attributes["cohort"] == "2024"
    assert attributes["schedule_identifier"] == "ecf-standard-january"
    assert attributes["status"] == "active"


# --- One item per training record ------------------------------------------------------------


def test_v1_lists_a_person_who_is_ect_and_mentor_twice_with_the_same_id(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider)
    mentor = enrolled_participant(
        lead_provider=lead_provider, participant=ect.participant, kind="mentor", school=ect.school
    )

    data = items(provider_client.get(URL))

    assert [item["id"] for item in data] == [str(ect.participant.id)] * 2
    assert [item["attributes"]["training_record_id"] for item in data] == [
        str(ect.enrolment.id),
        str(mentor.enrolment.id),
    ]
    assert [item["attributes"]["participant_type"] for item in data] == ["ect", "mentor"]


def test_show_prefers_the_ect_record(provider_client, lead_provider):
    # The mentor record is the older one: the choice is by kind, not by age.
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
    ect = enrolled_participant(lead_provider=lead_provider, participant=mentor.participant, school=mentor.school)

    attributes = shown(provider_client, ect.participant)

    assert attributes["participant_type"] == "ect"
    assert attributes["training_record_id"] == str(ect.enrolment.id)


def test_show_of_a_mentor_only_person_gives_the_mentor_record(provider_client, lead_provider):
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
    enrolled_participant(participant=mentor.participant)  # an ECT record with another provider

    attributes = shown(provider_client, mentor.participant)

    assert attributes["participant_type"] == "mentor"
    assert attributes["training_record_id"] == str(mentor.enrolment.id)


def test_a_participant_who_moved_provider_stays_listed_with_the_old_record(provider_client, lead_provider):
    """api.md §10.1: visibility is "ever had a record with this provider"; the old one is reported."""
    with clock.frozen(NOW - timedelta(days=100)):
        ect = enrolled_participant(lead_provider=lead_provider)
    ect.training_period.induction_status = InductionStatus.LEAVING
    ect.training_period.end_date = NOW - timedelta(days=10)
    ect.training_period.save()
    new_home = PartnershipFactory()
    TrainingPeriodFactory(enrolment=ect.enrolment, partnership=new_home, start_date=NOW - timedelta(days=9))

    with clock.frozen(NOW):
        attributes = shown(provider_client, ect.participant)

    assert attributes["school_urn"] == ect.school.urn
    assert attributes["status"] == "active"


# --- Visibility ------------------------------------------------------------------------------


def test_challenged_partnership_hides_its_participants(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider)
    ect.partnership.challenge_reason = "mistake"
    ect.partnership.challenged_at = clock.now()
    ect.partnership.save()

    assert provider_client.get(URL).json() == {"data": []}
    assert provider_client.get(f"{URL}/{ect.participant.id}").status_code == 404


def test_other_providers_participants_are_invisible(provider_client, lead_provider):
    mine = enrolled_participant(lead_provider=lead_provider)
    theirs = enrolled_participant(lead_provider=LeadProviderFactory())

    assert ids(provider_client.get(URL)) == [str(mine.participant.id)]
    response = provider_client.get(f"{URL}/{theirs.participant.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_show_of_a_malformed_id_is_not_found(provider_client):
    assert provider_client.get(f"{URL}/not-a-uuid").status_code == 404


# --- Filters, order, pagination ----------------------------------------------------------------


def test_cohort_filter_takes_a_list_of_schedule_cohorts(provider_client, lead_provider):
    in_2024 = enrolled_participant(lead_provider=lead_provider, cohort=2024)
    in_2025 = enrolled_participant(lead_provider=lead_provider, cohort=2025)

    assert ids(provider_client.get(URL, {"filter[cohort]": "2024"})) == [str(in_2024.participant.id)]
    assert set(ids(provider_client.get(URL, {"filter[cohort]": "2024,2025"}))) == {
        str(in_2024.participant.id),
        str(in_2025.participant.id),
    }
    assert provider_client.get(URL, {"filter[cohort]": "1999"}).json() == {"data": []}
    assert provider_client.get(URL, {"filter[cohort]": "abc"}).json() == {"data": []}


def test_cohort_filter_matches_the_schedule_cohort_not_the_school_cohort(provider_client, lead_provider):
    """api.md §16.24: after a cohort change the two differ; the filter follows the schedule."""
    ect = enrolled_participant(lead_provider=lead_provider, cohort=2024)
    ect.training_period.schedule = get_schedule(cohort=2025)
    ect.training_period.save()

    assert ids(provider_client.get(URL, {"filter[cohort]": "2025"})) == [str(ect.participant.id)]
    assert provider_client.get(URL, {"filter[cohort]": "2024"}).json() == {"data": []}
    assert shown(provider_client, ect.participant)["cohort"] == "2024"


def test_updated_since_is_inclusive_on_the_persons_updated_at(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 6, 1, 10, 0, tzinfo=UTC)):
        recent = enrolled_participant(lead_provider=lead_provider)

    assert ids(provider_client.get(URL, {"filter[updated_since]": "2024-06-01T10:00:00Z"})) == [
        str(recent.participant.id)
    ]
    assert provider_client.get(URL, {"filter[updated_since]": "2024-06-01T10:00:01Z"}).json() == {"data": []}
    double_encoded = provider_client.get(f"{URL}?filter[updated_since]=2024-06-01T11%253A00%253A00%252B01%253A00")
    assert ids(double_encoded) == [str(recent.participant.id)]


def test_updated_since_ignores_a_newer_period_when_the_person_has_not_moved(provider_client, lead_provider):
    """api.md §16.9: the person's sync timestamp is compared, not the updated_at shown."""
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        ect = enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        ect.training_period.save()

    assert shown(provider_client, ect.participant)["updated_at"] == "2024-06-01T00:00:00Z"
    assert provider_client.get(URL, {"filter[updated_since]": "2024-03-01T00:00:00Z"}).json() == {"data": []}


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


def test_order_is_person_created_at_or_updated_at_with_updated_since_and_sort_is_ignored(
    provider_client, lead_provider
):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        first = enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 2, 1, tzinfo=UTC)):
        second = enrolled_participant(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 3, 1, tzinfo=UTC)):
        first.participant.save()

    assert ids(provider_client.get(URL)) == [str(first.participant.id), str(second.participant.id)]
    assert ids(provider_client.get(URL, {"filter[updated_since]": "2023-01-01T00:00:00Z"})) == [
        str(second.participant.id),
        str(first.participant.id),
    ]
    assert ids(provider_client.get(URL, {"sort": "-created_at"})) == [
        str(first.participant.id),
        str(second.participant.id),
    ]


def test_pagination_cuts_pages_by_training_record(provider_client, lead_provider):
    records = []
    for day in range(1, 4):
        with clock.frozen(datetime(2024, 1, day, tzinfo=UTC)):
            ect = enrolled_participant(lead_provider=lead_provider)
        with clock.frozen(datetime(2024, 1, day, 12, tzinfo=UTC)):
            mentor = enrolled_participant(
                lead_provider=lead_provider, participant=ect.participant, kind="mentor", school=ect.school
            )
        records += [str(ect.enrolment.id), str(mentor.enrolment.id)]

    def page(number):
        response = provider_client.get(URL, {"page[per_page]": "4", "page[page]": str(number)})
        return [item["attributes"]["training_record_id"] for item in items(response)]

    assert page(1) == records[:4]
    assert page(2) == records[4:]
    assert provider_client.get(URL, {"page[per_page]": "4", "page[page]": "3"}).json() == {"data": []}


def test_v1_ignores_the_v3_only_participant_filters(provider_client, lead_provider):
    """api.md §15: `training_status` and `from_participant_id` are v3's; unknown filter keys are ignored."""
    enrolled_participant(lead_provider=lead_provider, training_status="deferred")

    for query in ({"filter[training_status]": "paused"}, {"filter[from_participant_id]": "not-a-uuid"}):
        assert len(ids(provider_client.get(URL, query))) == 1


def test_participants_alias_lists_the_same_records(provider_client, lead_provider):
    enrolled_participant(lead_provider=lead_provider)
    enrolled_participant(lead_provider=lead_provider, kind="mentor")

    assert provider_client.get("/api/v1/participants").json() == provider_client.get(URL).json()
    assert provider_client.get("/api/v1/participants", {"filter[cohort]": "2023"}).json() == {"data": []}
    assert provider_client.get("/api/v3/participants").status_code == 404  # v3 has no alias (api.md §10.3)


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    enrolled_participant(lead_provider=lead_provider, training_status="withdrawn")
    provider_client.get("/api/v1/ping")  # records the token's first use, a write we don't count here

    def count_queries():
        # 1 token lookup, 1 page of latest-period ids (read model), 1 of their rows (person, school,
        # schedule, mentor joined), 2 for the planner settings on and back (ecf.planner: rows by primary key)
        with django_assert_num_queries(5):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(items(response))

    assert count_queries() == 1
    for _ in range(12):
        mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
        enrolled_participant(lead_provider=lead_provider, mentor=mentor.enrolment, school=mentor.school)
    assert count_queries() == 25


# --- Actions: the acted-on training record, v1 shape, on both routes ---------------------------------


@pytest.fixture
def ect(lead_provider):
    with clock.frozen(NOW - timedelta(days=30)):
        return enrolled_participant(lead_provider=lead_provider)


@pytest.mark.parametrize("url", [URL, "/api/v1/participants"], ids=["ecf", "legacy"])
def test_v1_actions_answer_with_the_training_record_not_the_person(provider_client, ect, url):
    response = act(
        provider_client, f"{url}/{ect.participant.id}", "withdraw", reason="other", course_identifier="ecf-induction"
    )

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["id"] == str(ect.participant.id)
    assert list(data["attributes"]) == COLUMNS
    assert data["attributes"]["training_status"] == "withdrawn"
    assert data["attributes"]["status"] == "active"  # the school has not reported anything
    assert data["attributes"]["training_record_id"] == str(ect.enrolment.id)
    assert data["attributes"]["updated_at"] == NOW_TEXT


@pytest.mark.parametrize("url", [URL, "/api/v1/participants"], ids=["ecf", "legacy"])
def test_defer_then_resume(provider_client, ect, url):
    deferred = act(
        provider_client,
        f"{url}/{ect.participant.id}",
        "defer",
        reason="career-break",
        course_identifier="ecf-induction",
    )
    resumed = act(provider_client, f"{url}/{ect.participant.id}", "resume", course_identifier="ecf-induction")

    assert deferred.json()["data"]["attributes"]["training_status"] == "deferred"
    assert resumed.json()["data"]["attributes"]["training_status"] == "active"


@pytest.mark.parametrize("url", [URL, "/api/v1/participants"], ids=["ecf", "legacy"])
def test_change_schedule(provider_client, ect, url):
    response = act(
        provider_client,
        f"{url}/{ect.participant.id}",
        "change-schedule",
        schedule_identifier="ecf-standard-january",
        course_identifier="ecf-induction",
    )

    assert response.status_code == 200, response.content
    assert response.json()["data"]["attributes"]["schedule_identifier"] == "ecf-standard-january"


def test_action_on_the_mentor_course_answers_with_the_mentor_record(provider_client, lead_provider, ect):
    with clock.frozen(NOW - timedelta(days=30)):
        mentor = enrolled_participant(
            lead_provider=lead_provider, participant=ect.participant, kind="mentor", school=ect.school
        )

    response = act(
        provider_client, f"{URL}/{ect.participant.id}", "defer", reason="other", course_identifier="ecf-mentor"
    )

    attributes = response.json()["data"]["attributes"]
    assert attributes["participant_type"] == "mentor"
    assert attributes["training_record_id"] == str(mentor.enrolment.id)
    assert attributes["training_status"] == "deferred"


@pytest.mark.parametrize("url", [URL, "/api/v1/participants"], ids=["ecf", "legacy"])
def test_action_for_an_unknown_participant_is_a_422(provider_client, url):
    response = act(provider_client, f"{url}/not-a-uuid", "resume", course_identifier="ecf-induction")

    assert response.status_code == 422
    assert response.json() == {
        "errors": [{"title": "participant_id", "detail": NOT_RECOGNISED, "code": "participant.not_recognised"}]
    }


def test_legacy_action_validation_errors_match_the_ecf_route(provider_client, ect):
    legacy = act(provider_client, f"/api/v1/participants/{ect.participant.id}", "withdraw", course_identifier="x")
    current = act(provider_client, f"{URL}/{ect.participant.id}", "withdraw", course_identifier="x")

    assert legacy.status_code == current.status_code == 422
    assert legacy.json() == current.json()
