"""POST /api/v3/partnerships/ecf and PUT /api/v3/partnerships/ecf/{id} (rules §7.1, §7.2, §7.4, §7.5,
api.md §4, §11.3).

Each rules.md §12 vector is a test named after its behaviour; the vector id is in the docstring.
"""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from ecf import clock
from ecf.errors import ServiceValidationError
from ecf.rfc3339 import format_timestamp
from participants.models import (
    ChallengeReason,
    InductionProgrammeChoice,
    InductionStatus,
    Participant,
    Partnership,
    SchoolCohort,
    TrainingPeriod,
)
from participants.services import partnership_challenge
from tests.error_items import without_checked_codes
from tests.factories import (
    DeliveryPartnerFactory,
    LeadProviderFactory,
    PartnershipFactory,
    ProviderRelationshipFactory,
    SchoolCohortFactory,
    SchoolFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/partnerships/ecf"
PARTICIPANTS_URL = "/api/v3/participants/ecf"

EARLIER = datetime(2024, 9, 2, 10, 0, tzinfo=UTC)  # when the world is set up
NOW = datetime(2024, 9, 20, 12, 30, tzinfo=UTC)  # when the provider writes
NOW_TEXT = "2024-09-20T12:30:00Z"

COHORT_MISSING = "Enter a '#/cohort'."
COHORT_INVALID = "The '#/cohort' you have entered is invalid. Check cohort details and try again."
SCHOOL_MISSING = "Enter a '#/school_id'."
SCHOOL_INVALID = (
    "The '#/school_id' you have entered is invalid. Check school details and try again. "
    "Contact the DfE for support if you are unable to find the '#/school_id'."
)
SCHOOL_CIP_ONLY = (
    "The school you have entered has not registered to deliver DfE-funded training. "
    "Contact the school for more information."
)
SCHOOL_INELIGIBLE = (
    "The school you have entered is currently ineligible for DfE funding. Contact the school for more information."
)
ALREADY_PARTNERED = "You are already in a confirmed partnership with this school for the entered cohort."
PARTNERED_ELSEWHERE = (
    "Another provider is in a confirmed partnership with the school for the cohort you entered. "
    "Contact the school for more information."
)
NOT_CONFIRMED = (
    "The school you have entered has not yet confirmed they will deliver DfE-funded training. "
    "Contact the school for more information."
)
PARTNER_MISSING = "Enter a '#/delivery_partner_id'."
PARTNER_INVALID = (
    "The '#/delivery_partner_id' you have entered is invalid. Check delivery partner details and try again."
)
PARTNER_NOT_RECOGNISED = (
    "The entered delivery partner is not recognised to be working in partnership with you for the given cohort. "
    "Contact the DfE for more information."
)
CHALLENGED = (
    "Your update cannot be made as this partnership has been challenged by the school. If this partnership has "
    "been challenged in error, submit a new partnership confirmation using the endpoint POST /api/v3/partnerships/ecf."
)
ALREADY_WITH_PARTNER = (
    "We are unable to process this request. You are already confirmed to be in partnership with the entered "
    "delivery partner. Contact the DfE for support."
)
BAD_JSON = [
    {
        "title": "Bad request",
        "detail": "correct json data structure required. See API docs for reference",
        "code": "request.invalid_body",
    }
]


@pytest.fixture
def partner(lead_provider):
    """D: works with the calling provider A in 2024 (PV-29's given)."""
    with clock.frozen(EARLIER):
        partner = DeliveryPartnerFactory(name="North Teaching Hub")
        ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=partner, cohort=2024)
    return partner


@pytest.fixture
def school():
    with clock.frozen(EARLIER):
        return SchoolFactory(urn="654321", induction_tutor_name="Sam Tutor", induction_tutor_email="sam@school.example")


def post(client, *, now=NOW, data_type="ecf-partnership", **attributes):
    body = {"data": {"type": data_type, "attributes": attributes}}
    with clock.frozen(now):
        return client.post(URL, body, format="json")


def confirm(client, school, partner, *, cohort="2024", now=NOW, **extra):
    return post(client, now=now, cohort=cohort, school_id=str(school.id), delivery_partner_id=str(partner.id), **extra)


def put(client, partnership_id, *, now=NOW, **attributes):
    body = {"data": {"type": "ecf-partnership-update", "attributes": attributes}}
    with clock.frozen(now):
        return client.put(f"{URL}/{partnership_id}", body, format="json")


def errors(response) -> list[dict]:
    assert response.status_code == 422, response.content
    return without_checked_codes(response.json()["errors"])


def shown(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()["data"]


def error_items(*pairs) -> list[dict]:
    return [{"title": title, "detail": detail} for title, detail in pairs]


def visible_participant_ids(client, **filters) -> list[str]:
    query = "&".join(f"filter[{key}]={value}" for key, value in filters.items())
    response = client.get(f"{PARTICIPANTS_URL}?{query}")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


# --- POST: success -------------------------------------------------------------------------------


def test_confirmed_partnership_is_returned_with_every_attribute(provider_client, lead_provider, partner, school):
    data = shown(confirm(provider_client, school, partner))

    partnership = Partnership.objects.get(lead_provider=lead_provider, school=school)
    assert data == {
        "id": str(partnership.id),
        "type": "partnership",
        "attributes": {
            "cohort": "2024",
            "urn": "654321",
            "school_id": str(school.id),
            "delivery_partner_id": str(partner.id),
            "delivery_partner_name": "North Teaching Hub",
            "status": "active",
            "challenged_reason": None,
            "challenged_at": None,
            "induction_tutor_name": "Sam Tutor",
            "induction_tutor_email": "sam@school.example",
            "created_at": NOW_TEXT,
            "updated_at": NOW_TEXT,
        },
    }
    assert (partnership.relationship, partnership.pending, partnership.cohort_id) == (False, False, 2024)
    assert provider_client.get(f"{URL}/{partnership.id}").json()["data"] == data


def test_cohort_may_be_sent_as_a_number(provider_client, partner, school):
    data = shown(confirm(provider_client, school, partner, cohort=2024))

    assert data["attributes"]["cohort"] == "2024"


def test_body_type_is_ignored_and_unknown_attributes_are_dropped(provider_client, lead_provider, partner, school):
    """api.md §4: any `data.type`; an attribute naming another provider does not change who reports."""
    other_provider = LeadProviderFactory()

    response = confirm(
        provider_client, school, partner, data_type="whatever", lead_provider_id=str(other_provider.id), urn="999999"
    )

    assert shown(response)["attributes"]["urn"] == "654321"
    assert Partnership.objects.get(school=school).lead_provider == lead_provider


def test_confirming_sets_up_the_school_cohort_for_full_induction_when_missing(provider_client, partner, school):
    assert not SchoolCohort.objects.filter(school=school).exists()

    shown(confirm(provider_client, school, partner))

    school_cohort = SchoolCohort.objects.get(school=school, cohort_id=2024)
    assert school_cohort.induction_programme_choice == InductionProgrammeChoice.FULL_INDUCTION_PROGRAMME


def test_school_that_chose_school_led_can_still_be_partnered(provider_client, partner, school):
    """Rules §7.1: this is how a wrong "school-led" choice is fixed."""
    SchoolCohortFactory(
        school=school, cohort=2024, induction_programme_choice=InductionProgrammeChoice.CORE_INDUCTION_PROGRAMME
    )

    data = shown(confirm(provider_client, school, partner))

    assert data["attributes"]["status"] == "active"


# --- POST: validation (PV-29 and api.md §11.3) ----------------------------------------------------


def _pv29_empty(lead_provider, partner):
    return {}, [("cohort", COHORT_MISSING), ("school_id", SCHOOL_MISSING), ("delivery_partner_id", PARTNER_MISSING)]


def _pv29_unknown(lead_provider, partner):
    attributes = {"cohort": "2019", "school_id": str(uuid.uuid4()), "delivery_partner_id": str(uuid.uuid4())}
    return attributes, [
        ("cohort", COHORT_INVALID),
        ("school_id", SCHOOL_INVALID),
        ("delivery_partner_id", PARTNER_INVALID),
    ]


def _for_school(school, partner) -> dict:
    return {"cohort": "2024", "school_id": str(school.id), "delivery_partner_id": str(partner.id)}


def _pv29_cip_only(lead_provider, partner):
    return _for_school(SchoolFactory(cip_only=True), partner), [("school_id", SCHOOL_CIP_ONLY)]


def _pv29_closed(lead_provider, partner):
    return _for_school(SchoolFactory(closed=True), partner), [("school_id", SCHOOL_INELIGIBLE)]


def _pv29_already_mine(lead_provider, partner):
    mine = PartnershipFactory(lead_provider=lead_provider, delivery_partner=partner, cohort=2024)
    return _for_school(mine.school, partner), [("school_id", ALREADY_PARTNERED)]


def _pv29_another_provider(lead_provider, partner):
    theirs = PartnershipFactory(lead_provider=LeadProviderFactory(), cohort=2024)
    return _for_school(theirs.school, partner), [("school_id", PARTNERED_ELSEWHERE)]


def _pv29_partnered_last_year_not_set_up(lead_provider, partner):
    last_year = PartnershipFactory(lead_provider=LeadProviderFactory(), cohort=2023)
    return _for_school(last_year.school, partner), [("school_id", NOT_CONFIRMED)]


def _pv29_partner_only_in_2023(lead_provider, partner):
    partner_2023 = DeliveryPartnerFactory()
    ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=partner_2023, cohort=2023)
    return _for_school(SchoolFactory(), partner_2023), [("delivery_partner_id", PARTNER_NOT_RECOGNISED)]


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(_pv29_empty, id="a-empty-attributes"),
        pytest.param(_pv29_unknown, id="b-unknown-cohort-school-partner"),
        pytest.param(_pv29_cip_only, id="c-cip-only-school"),
        pytest.param(_pv29_closed, id="d-closed-school"),
        pytest.param(_pv29_already_mine, id="e-already-partnered-with-caller"),
        pytest.param(_pv29_another_provider, id="f-partnered-with-another-provider"),
        pytest.param(_pv29_partnered_last_year_not_set_up, id="g-partnered-in-2023-no-2024-school-cohort"),
        pytest.param(_pv29_partner_only_in_2023, id="h-partner-works-with-caller-only-in-2023"),
    ],
)
def test_invalid_partnership_reports_are_refused_with_the_contract_messages(
    provider_client, lead_provider, partner, given
):
    """PV-29 (a)-(h)."""
    with clock.frozen(EARLIER):
        attributes, expected = given(lead_provider, partner)
    partnerships_before = set(Partnership.objects.values_list("id", "updated_at"))

    response = post(provider_client, **attributes)

    assert errors(response) == error_items(*expected)
    assert set(Partnership.objects.values_list("id", "updated_at")) == partnerships_before


@pytest.mark.parametrize("school_id", ["not-a-uuid", 12345, "  "], ids=["not-a-uuid", "number", "blank"])
def test_school_id_that_is_not_a_uuid_is_invalid_or_missing(provider_client, partner, school_id):
    response = post(provider_client, cohort="2024", school_id=school_id, delivery_partner_id=str(partner.id))

    expected = SCHOOL_MISSING if school_id == "  " else SCHOOL_INVALID
    assert errors(response) == error_items(("school_id", expected))


@pytest.mark.parametrize("cohort", ["", None, "twenty", "2019", 2099, True], ids=repr)
def test_without_a_valid_cohort_only_the_cohort_error_is_reported(provider_client, partner, cohort):
    """api.md §11.3: the cohort-dependent school and delivery partner checks are skipped (the original
    crashes). The school is partnered elsewhere and the partner works with nobody: no error for them."""
    theirs = PartnershipFactory(lead_provider=LeadProviderFactory(), cohort=2024)
    stranger = DeliveryPartnerFactory()

    response = post(
        provider_client, cohort=cohort, school_id=str(theirs.school_id), delivery_partner_id=str(stranger.id)
    )

    expected = COHORT_MISSING if cohort in ("", None) else COHORT_INVALID
    assert errors(response) == error_items(("cohort", expected))


def test_school_checks_stop_at_the_first_failure(provider_client, partner):
    """A closed school partnered elsewhere gets one message: the first check that fails (P5, not P7)."""
    theirs = PartnershipFactory(lead_provider=LeadProviderFactory(), cohort=2024, school=SchoolFactory(closed=True))

    response = post(
        provider_client, cohort="2024", school_id=str(theirs.school_id), delivery_partner_id=str(partner.id)
    )

    assert errors(response) == error_items(("school_id", SCHOOL_INELIGIBLE))


def test_school_partnered_last_year_can_be_partnered_once_it_set_up_the_cohort(provider_client, partner, school):
    """P8 passes when the school has a school cohort for the target cohort."""
    PartnershipFactory(lead_provider=LeadProviderFactory(), school=school, cohort=2023)
    SchoolCohortFactory(school=school, cohort=2024)

    assert shown(confirm(provider_client, school, partner))["attributes"]["cohort"] == "2024"


@pytest.mark.parametrize("last_year", ["challenged", "relationship"])
def test_unconfirmed_partnership_last_year_does_not_require_the_cohort_set_up(
    provider_client, partner, school, last_year
):
    """P8 looks only at confirmed partnerships of the previous cohort."""
    PartnershipFactory(
        lead_provider=LeadProviderFactory(),
        school=school,
        cohort=2023,
        **({"challenged": True} if last_year == "challenged" else {"relationship": True}),
    )

    shown(confirm(provider_client, school, partner))

    assert SchoolCohort.objects.filter(school=school, cohort_id=2024).exists()


def test_post_without_data_is_a_bad_request(provider_client, partner, school):
    """api.md §4: a body without a `data` object is a 400, not a validation error."""
    for body in ({"attributes": _for_school(school, partner)}, {"data": [1]}, [{"data": {}}]):
        response = provider_client.post(URL, body, format="json")

        assert response.status_code == 400
        assert response.json()["errors"] == BAD_JSON
    assert not Partnership.objects.filter(school=school).exists()


# --- POST: the effects of a report (rules §7.1) --------------------------------------------------


def test_challenge_deadline_is_31_october_or_14_days_from_today_whichever_is_later(provider_client, lead_provider):
    """PV-30: reported on 2023-05-01 → 2023-10-31; reported on 2023-10-25 → 2023-11-08."""
    partner = DeliveryPartnerFactory()
    ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=partner, cohort=2023)
    early_school, late_school = SchoolFactory(), SchoolFactory()

    early = shown(
        confirm(provider_client, early_school, partner, cohort="2023", now=datetime(2023, 5, 1, 9, tzinfo=UTC))
    )
    late = shown(
        confirm(provider_client, late_school, partner, cohort="2023", now=datetime(2023, 10, 25, 9, tzinfo=UTC))
    )

    assert Partnership.objects.get(pk=early["id"]).challenge_deadline == date(2023, 10, 31)
    assert Partnership.objects.get(pk=late["id"]).challenge_deadline == date(2023, 11, 8)


def test_reconfirming_a_challenged_partnership_reuses_and_unchallenges_it(provider_client, lead_provider, school):
    """Rules §7.4: the provider may re-confirm with POST; the challenged record comes back active."""
    with clock.frozen(EARLIER):
        challenged = PartnershipFactory(lead_provider=lead_provider, school=school, cohort=2024, challenged=True)
        new_partner = DeliveryPartnerFactory()
        ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=new_partner, cohort=2024)
    old_report_id = challenged.report_id

    data = shown(confirm(provider_client, school, new_partner))

    assert data["id"] == str(challenged.id)
    assert data["attributes"]["status"] == "active"
    assert data["attributes"]["challenged_reason"] is None
    assert data["attributes"]["challenged_at"] is None
    assert data["attributes"]["delivery_partner_id"] == str(new_partner.id)
    challenged.refresh_from_db()
    assert challenged.report_id != old_report_id
    assert challenged.challenge_deadline == date(2024, 10, 31)
    assert Partnership.objects.filter(lead_provider=lead_provider, school=school).count() == 1


def test_another_providers_challenged_partnership_does_not_block_a_report(provider_client, partner, school):
    """Challenged partnerships do not count for P6/P7."""
    theirs = PartnershipFactory(lead_provider=LeadProviderFactory(), school=school, cohort=2024, challenged=True)

    data = shown(confirm(provider_client, school, partner))

    assert data["id"] != str(theirs.id)
    theirs.refresh_from_db()
    assert theirs.is_challenged


def test_relationship_partnership_with_the_same_partner_is_converted(provider_client, lead_provider, partner, school):
    """Rules §7.5: a relationship record becomes the provider's partnership, listed from then on."""
    with clock.frozen(EARLIER):
        relationship = PartnershipFactory(
            lead_provider=lead_provider, school=school, delivery_partner=partner, cohort=2024, relationship=True
        )
    assert provider_client.get(URL).json()["data"] == []

    data = shown(confirm(provider_client, school, partner))

    assert data["id"] == str(relationship.id)
    relationship.refresh_from_db()
    assert relationship.relationship is False
    assert [item["id"] for item in provider_client.get(URL).json()["data"]] == [str(relationship.id)]


def test_relationship_partnership_with_another_partner_is_left_alone(provider_client, lead_provider, partner, school):
    with clock.frozen(EARLIER):
        relationship = PartnershipFactory(lead_provider=lead_provider, school=school, cohort=2024, relationship=True)

    data = shown(confirm(provider_client, school, partner))

    assert data["id"] != str(relationship.id)
    relationship.refresh_from_db()
    assert relationship.relationship is True


def test_confirming_brings_the_schools_participants_back_into_updated_since_syncs(
    provider_client, lead_provider, partner, school
):
    """Rules §7.1: every participant trained at the school is touched, whatever the cohort."""
    with clock.frozen(EARLIER):
        last_year = enrolled_participant(lead_provider=lead_provider, school=school, cohort=2023)
        enrolled_participant(lead_provider=lead_provider, cohort=2023)  # at another school: untouched
        SchoolCohortFactory(school=school, cohort=2024)  # P8: partnered in 2023, so 2024 must be set up
    just_before = format_timestamp(NOW - timedelta(seconds=1))
    assert visible_participant_ids(provider_client, updated_since=just_before) == []

    shown(confirm(provider_client, school, partner))

    assert visible_participant_ids(provider_client, updated_since=just_before) == [str(last_year.participant.id)]
    assert Participant.objects.get(pk=last_year.participant.id).updated_at == NOW


def test_provider_led_training_waiting_for_a_partnership_moves_onto_it(provider_client, lead_provider, partner, school):
    """Rules §7.1: the school cohort's provider-led periods without a partnership continue under the new
    one, so the provider sees those participants; school-led training stays as it was."""
    with clock.frozen(EARLIER):
        SchoolCohortFactory(school=school, cohort=2024)
        waiting = TrainingPeriodFactory(partnership=None, school=school, cohort=2024)
        school_led = TrainingPeriodFactory(school_led=True, school=school, cohort=2024)
    participant_url = f"{PARTICIPANTS_URL}/{waiting.enrolment.participant_id}"
    assert provider_client.get(participant_url).status_code == 404

    partnership_id = shown(confirm(provider_client, school, partner))["id"]

    (enrolment,) = shown(provider_client.get(participant_url))["attributes"]["ecf_enrolments"]
    assert enrolment["delivery_partner_id"] == str(partner.id)
    closed, current = TrainingPeriod.objects.filter(enrolment=waiting.enrolment).order_by("created_at")
    assert (closed.id, closed.partnership_id, closed.end_date, closed.induction_status) == (
        waiting.id,
        None,
        NOW,
        InductionStatus.CHANGED,
    )
    assert (str(current.partnership_id), current.start_date, current.end_date, current.induction_status) == (
        partnership_id,
        NOW,
        None,
        InductionStatus.ACTIVE,
    )
    assert list(TrainingPeriod.objects.filter(enrolment=school_led.enrolment).values_list("partnership_id")) == [
        (None,)
    ]
    assert provider_client.get(f"{PARTICIPANTS_URL}/{school_led.enrolment.participant_id}").status_code == 404


# --- PUT (rules §7.2) ---------------------------------------------------------------------------


@pytest.fixture
def partnership(lead_provider, partner, school):
    """A's partnership with S for 2024 through D, reported in time for the 31 October deadline."""
    with clock.frozen(EARLIER):
        return PartnershipFactory(
            lead_provider=lead_provider,
            school=school,
            delivery_partner=partner,
            cohort=2024,
            challenge_deadline=date(2024, 10, 31),
        )


@pytest.fixture
def second_partner(lead_provider):
    """D2: also works with A in 2024."""
    with clock.frozen(EARLIER):
        second = DeliveryPartnerFactory(name="South Teaching Hub")
        ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=second, cohort=2024)
    return second


def test_changing_the_delivery_partner_reports_the_partnership_again(
    provider_client, lead_provider, partnership, second_partner
):
    with clock.frozen(EARLIER):
        trained = enrolled_participant(partnership=partnership)
    old_report_id = partnership.report_id
    later = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)

    data = shown(put(provider_client, partnership.id, now=later, delivery_partner_id=str(second_partner.id)))

    assert data["id"] == str(partnership.id)
    assert data["attributes"]["delivery_partner_id"] == str(second_partner.id)
    assert data["attributes"]["delivery_partner_name"] == "South Teaching Hub"
    assert data["attributes"]["updated_at"] == "2024-12-10T12:00:00Z"
    partnership.refresh_from_db()
    assert partnership.challenge_deadline == date(2024, 12, 24)  # 14 days from today beats 31 October
    assert partnership.report_id != old_report_id
    assert Participant.objects.get(pk=trained.participant.id).updated_at == later
    (enrolment,) = shown(provider_client.get(f"{PARTICIPANTS_URL}/{trained.participant.id}"))["attributes"][
        "ecf_enrolments"
    ]
    assert enrolment["delivery_partner_id"] == str(second_partner.id)


def test_same_delivery_partner_changes_nothing(provider_client, partnership, partner):
    with clock.frozen(EARLIER):
        trained = enrolled_participant(partnership=partnership)
    before = provider_client.get(f"{URL}/{partnership.id}").json()
    stored = Partnership.objects.values().get(pk=partnership.id)

    response = put(provider_client, partnership.id, delivery_partner_id=str(partner.id))

    assert shown(response) == before["data"]
    assert Partnership.objects.values().get(pk=partnership.id) == stored
    assert Participant.objects.get(pk=trained.participant.id).updated_at == EARLIER


def test_challenged_partnership_cannot_be_updated(provider_client, lead_provider, school, second_partner):
    """PV-31 (write half): A's challenged ("mistake") partnership refuses a new delivery partner."""
    with clock.frozen(EARLIER):
        challenged = PartnershipFactory(lead_provider=lead_provider, school=school, cohort=2024, challenged=True)

    response = put(provider_client, challenged.id, delivery_partner_id=str(second_partner.id))

    assert errors(response) == error_items(("delivery_partner_id", CHALLENGED))
    attributes = shown(provider_client.get(f"{URL}/{challenged.id}"))["attributes"]
    assert (attributes["status"], attributes["challenged_reason"]) == ("challenged", "mistake")
    assert attributes["delivery_partner_id"] == str(challenged.delivery_partner_id)


def _put_blank(lead_provider, partnership):
    return {"delivery_partner_id": ""}, PARTNER_MISSING


def _put_absent(lead_provider, partnership):
    return {}, PARTNER_MISSING


def _put_unknown(lead_provider, partnership):
    return {"delivery_partner_id": str(uuid.uuid4())}, PARTNER_INVALID


def _put_not_a_uuid(lead_provider, partnership):
    return {"delivery_partner_id": "north-hub"}, PARTNER_INVALID


def _put_no_relationship(lead_provider, partnership):
    return {"delivery_partner_id": str(DeliveryPartnerFactory().id)}, PARTNER_NOT_RECOGNISED


def _put_relationship_in_another_cohort(lead_provider, partnership):
    other = DeliveryPartnerFactory()
    ProviderRelationshipFactory(lead_provider=lead_provider, delivery_partner=other, cohort=2025)
    return {"delivery_partner_id": str(other.id)}, PARTNER_NOT_RECOGNISED


def _put_relationship_record_exists(lead_provider, partnership):
    existing = PartnershipFactory(
        lead_provider=lead_provider, school=partnership.school, cohort=partnership.cohort, relationship=True
    )
    return {"delivery_partner_id": str(existing.delivery_partner_id)}, ALREADY_WITH_PARTNER


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(_put_blank, id="blank"),
        pytest.param(_put_absent, id="absent"),
        pytest.param(_put_unknown, id="unknown"),
        pytest.param(_put_not_a_uuid, id="not-a-uuid"),
        pytest.param(_put_no_relationship, id="no-relationship"),
        pytest.param(_put_relationship_in_another_cohort, id="relationship-only-in-2025"),
        pytest.param(_put_relationship_record_exists, id="relationship-partnership-with-that-partner"),
    ],
)
def test_invalid_delivery_partner_changes_are_refused(provider_client, lead_provider, partnership, given):
    """api.md §11.3 PUT errors, each with the title `delivery_partner_id`."""
    with clock.frozen(EARLIER):
        attributes, message = given(lead_provider, partnership)
    stored = Partnership.objects.values().get(pk=partnership.id)

    response = put(provider_client, partnership.id, **attributes)

    assert errors(response) == error_items(("delivery_partner_id", message))
    assert Partnership.objects.values().get(pk=partnership.id) == stored


def _unknown_id(lead_provider):
    return str(uuid.uuid4())


def _another_providers(lead_provider):
    return str(PartnershipFactory(cohort=2024).id)


def _relationship_record(lead_provider):
    return str(PartnershipFactory(lead_provider=lead_provider, cohort=2024, relationship=True).id)


def _not_a_uuid(lead_provider):
    return "not-a-uuid"


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(_unknown_id, id="unknown"),
        pytest.param(_another_providers, id="another-providers"),
        pytest.param(_relationship_record, id="relationship-partnership"),
        pytest.param(_not_a_uuid, id="not-a-uuid"),
    ],
)
def test_put_on_a_partnership_that_is_not_the_providers_own_is_not_found(
    provider_client, lead_provider, second_partner, target
):
    partnership_id = target(lead_provider)

    response = put(provider_client, partnership_id, delivery_partner_id=str(second_partner.id))

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_put_without_data_is_a_bad_request(provider_client, partnership, second_partner):
    response = provider_client.put(
        f"{URL}/{partnership.id}", {"delivery_partner_id": str(second_partner.id)}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == BAD_JSON


def test_writes_need_a_token(api_client, partnership, partner):
    assert api_client.post(URL, {"data": {}}, format="json").status_code == 401
    assert api_client.put(f"{URL}/{partnership.id}", {"data": {}}, format="json").status_code == 401


# --- Challenges (rules §7.4, the back office's service) -------------------------------------------


def test_challenge_hides_the_participants_until_the_provider_confirms_again(provider_client, partnership, partner):
    with clock.frozen(EARLIER):
        trained = enrolled_participant(partnership=partnership)
    assert visible_participant_ids(provider_client) == [str(trained.participant.id)]

    with clock.frozen(NOW):
        partnership_challenge(partnership=partnership, reason=ChallengeReason.NO_ECTS)

    attributes = shown(provider_client.get(f"{URL}/{partnership.id}"))["attributes"]
    assert (attributes["status"], attributes["challenged_reason"]) == ("challenged", "no_ects")
    assert attributes["challenged_at"] == "2024-09-20T12:30:00.000Z"
    assert visible_participant_ids(provider_client) == []
    assert Participant.objects.get(pk=trained.participant.id).updated_at == NOW
    school_cohort = SchoolCohort.objects.get(school=partnership.school, cohort_id=2024)
    assert school_cohort.induction_programme_choice == InductionProgrammeChoice.NO_EARLY_CAREER_TEACHERS

    later = NOW + timedelta(days=3)
    data = shown(confirm(provider_client, partnership.school, partner, now=later))

    assert (data["id"], data["attributes"]["status"]) == (str(partnership.id), "active")
    assert visible_participant_ids(provider_client) == [str(trained.participant.id)]


def test_challenge_needs_a_known_reason(partnership):
    with pytest.raises(ServiceValidationError):
        partnership_challenge(partnership=partnership, reason="bored")

    partnership.refresh_from_db()
    assert not partnership.is_challenged
