"""GET /api/v3/participants/ecf/transfers and /{id}/transfers (rules §6, api.md §9.8, §10.3)."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from ecf import clock
from participants.models import InductionStatus, Partnership
from participants.tokens import api_token_create
from tests.factories import (
    LeadProviderFactory,
    PartnershipFactory,
    SchoolFactory,
    TrainingPeriodFactory,
    enrolled_participant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v3/participants/ecf/transfers"


def show_url(participant_id) -> str:
    return f"/api/v3/participants/ecf/{participant_id}/transfers"


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["data"]]


def client_for(lead_provider) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


SEPTEMBER_2023 = datetime(2023, 9, 1, tzinfo=UTC)


def leaver(*, lead_provider, end_date: datetime | None, created: datetime = SEPTEMBER_2023, **kwargs):
    """P trains with the provider at a school from 2023-09-01 and is reported leaving it on `end_date`."""
    with clock.frozen(created):
        ect = enrolled_participant(lead_provider=lead_provider, cohort=2023, start_date=at(2023, 9, 1), **kwargs)
        ect.training_period.induction_status = InductionStatus.LEAVING
        ect.training_period.end_date = end_date
        ect.training_period.save()
    return ect


def joiner(ect, *, lead_provider, start_date: datetime, created: datetime, school=None, relationship=False, **fields):
    """A period of P's enrolment at another school (a new one unless given), a school transfer by default.

    `lead_provider=None` makes it school-led (no partnership, so no provider); `relationship=True`
    puts it under a relationship partnership (for a school another provider is partnered with).
    """
    school = school or SchoolFactory()
    fields.setdefault("school_transfer", True)
    with clock.frozen(created):
        if lead_provider is None:
            return TrainingPeriodFactory(
                enrolment=ect.enrolment, school_led=True, school=school, start_date=start_date, **fields
            )
        partnership = Partnership.objects.filter(
            lead_provider=lead_provider, school=school, cohort=ect.cohort, relationship=relationship
        ).first() or PartnershipFactory(
            lead_provider=lead_provider, school=school, cohort=ect.cohort, relationship=relationship
        )
        return TrainingPeriodFactory(enrolment=ect.enrolment, partnership=partnership, start_date=start_date, **fields)


def leaving_again(ect, period, *, end_date: datetime, created: datetime):
    """`period` (a joining one) is in turn reported leaving."""
    with clock.frozen(created):
        period.induction_status = InductionStatus.LEAVING
        period.end_date = end_date
        period.save()


def close(period, *, at: datetime):
    """The period ends because something changed (a new period follows)."""
    with clock.frozen(at):
        period.induction_status = InductionStatus.CHANGED
        period.end_date = at
        period.save()


def transfers_of(response) -> list[dict]:
    return response.json()["data"]["attributes"]["transfers"]


# --- PV-33 and the shape ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("joining_with_other_provider", "leaving_end", "joining_start", "transfer_type", "status"),
    [
        (False, at(2024, 3, 8), at(2024, 3, 11), "new_school", "incomplete"),
        (False, at(2024, 3, 8), at(2024, 3, 9), "new_school", "complete"),
        (True, at(2024, 3, 8), at(2024, 3, 11), "new_provider", "incomplete"),
        (False, at(2024, 3, 11), at(2024, 3, 12), "new_school", "incomplete"),
    ],
    ids=["same-provider-joining-tomorrow", "same-provider-joined-yesterday", "new-provider", "leaving-tomorrow"],
)
def test_transfer_type_and_status_follow_the_providers_and_dates(
    provider_client, lead_provider, joining_with_other_provider, leaving_end, joining_start, transfer_type, status
):
    """PV-33: today 2024-03-10; P leaves S1 (provider A) and joins S2 as a school transfer."""
    other = LeadProviderFactory(name="Best Practice Network")
    joining_provider = other if joining_with_other_provider else lead_provider
    ect = leaver(lead_provider=lead_provider, end_date=leaving_end, created=at(2024, 2, 1))
    new_school = SchoolFactory()
    joiner(ect, lead_provider=joining_provider, start_date=joining_start, created=at(2024, 2, 2), school=new_school)

    with clock.frozen(datetime(2024, 3, 10, 12, 0, tzinfo=UTC)):
        response = provider_client.get(show_url(ect.participant.id))

    assert response.status_code == 200
    assert transfers_of(response) == [
        {
            "training_record_id": str(ect.enrolment.id),
            "transfer_type": transfer_type,
            "status": status,
            "created_at": "2024-02-01T00:00:00Z",
            "leaving": {
                "school_urn": ect.school.urn,
                "provider": "Ambition Institute",
                "date": leaving_end.date().isoformat(),
            },
            "joining": {
                "school_urn": new_school.urn,
                "provider": joining_provider.name,
                "date": joining_start.date().isoformat(),
            },
        }
    ]


def test_transfer_resource_shape_and_updated_at_from_the_reported_periods(provider_client, lead_provider):
    """updated_at is the latest change of the reported periods, not the person's (api.md §9.8)."""
    ect = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, 10))
    joining = joiner(ect, lead_provider=lead_provider, start_date=at(2024, 3, 11), created=at(2024, 2, 15))

    with clock.frozen(at(2024, 3, 10)):
        response = provider_client.get(URL)
        show = provider_client.get(show_url(ect.participant.id))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    [item] = response.json()["data"]
    assert item["id"] == str(ect.participant.id)
    assert item["type"] == "participant-transfer"
    assert list(item["attributes"]) == ["updated_at", "transfers"]
    assert item["attributes"]["updated_at"] == stamp(joining.updated_at) == "2024-02-15T00:00:00Z"
    assert stamp(ect.participant.updated_at) == "2024-01-10T00:00:00Z"
    [transfer] = item["attributes"]["transfers"]
    assert list(transfer) == ["training_record_id", "transfer_type", "status", "created_at", "leaving", "joining"]
    assert list(transfer["leaving"]) == ["school_urn", "provider", "date"]
    assert transfer["created_at"] == stamp(ect.training_period.created_at)
    assert show.json()["data"] == item


def test_leaver_without_a_joiner_is_an_unknown_transfer(provider_client, lead_provider):
    ect = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8))

    with clock.frozen(at(2024, 3, 10)):
        [transfer] = transfers_of(provider_client.get(show_url(ect.participant.id)))

    assert transfer["transfer_type"] == "unknown"
    assert transfer["status"] == "complete"
    assert transfer["leaving"]["date"] == "2024-03-08"
    assert transfer["joining"] is None


def test_leaver_without_a_date_is_incomplete(provider_client, lead_provider):
    ect = leaver(lead_provider=lead_provider, end_date=None)

    [transfer] = transfers_of(provider_client.get(show_url(ect.participant.id)))

    assert transfer["status"] == "incomplete"
    assert transfer["leaving"]["date"] is None


def test_joining_school_led_is_a_new_school_without_a_provider(provider_client, lead_provider):
    ect = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8))
    joiner(ect, lead_provider=None, start_date=at(2024, 3, 11), created=at(2024, 2, 1))

    [transfer] = transfers_of(provider_client.get(show_url(ect.participant.id)))

    assert transfer["transfer_type"] == "new_school"
    assert transfer["joining"]["provider"] is None
    assert transfer["leaving"]["provider"] == "Ambition Institute"


# --- Who is told about a transfer (rules §6.2 step 3) -------------------------------------------


def test_new_provider_transfer_is_reported_to_both_providers(provider_client, lead_provider):
    other = LeadProviderFactory()
    ect = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8))
    joiner(ect, lead_provider=other, start_date=at(2024, 3, 11), created=at(2024, 2, 1))

    with clock.frozen(at(2024, 3, 10)):
        mine = provider_client.get(show_url(ect.participant.id)).json()
        theirs = client_for(other).get(show_url(ect.participant.id)).json()

    assert transfers_of_json(mine) == transfers_of_json(theirs)
    assert transfers_of_json(mine)[0]["transfer_type"] == "new_provider"
    assert ids_json(provider_client.get(URL).json()) == [str(ect.participant.id)]
    assert ids_json(client_for(other).get(URL).json()) == [str(ect.participant.id)]


def transfers_of_json(body: dict) -> list[dict]:
    return body["data"]["attributes"]["transfers"]


def ids_json(body: dict) -> list[str]:
    return [item["id"] for item in body["data"]]


def test_leaving_only_transfer_is_reported_only_to_the_leaving_provider(provider_client, lead_provider):
    """An unmatched leaver is the leaving provider's news only, even for a provider the person later joined."""
    other = LeadProviderFactory()
    ect = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8))
    # The other provider's period is at the same school, so it cannot be the joining side.
    joiner(
        ect,
        lead_provider=other,
        school=ect.school,
        relationship=True,
        start_date=at(2024, 3, 11),
        created=at(2024, 2, 1),
    )

    mine = transfers_of(provider_client.get(show_url(ect.participant.id)))
    theirs = client_for(other).get(show_url(ect.participant.id))

    assert [t["transfer_type"] for t in mine] == ["unknown"]
    assert theirs.status_code == 200
    assert theirs.json()["data"]["attributes"] == {
        "updated_at": stamp(ect.participant.updated_at),
        "transfers": [],
    }


def test_each_leaver_pairs_with_the_next_unused_transfer_at_another_school(provider_client, lead_provider):
    """Rules §6.2: creation order; unflagged periods are skipped; used periods are not paired twice."""
    other = LeadProviderFactory(name="Teach First")
    ect = leaver(lead_provider=lead_provider, end_date=at(2024, 1, 31), created=at(2023, 9, 1))
    school_2, school_3 = SchoolFactory(), SchoolFactory()
    # Not flagged as a school transfer, so never a joiner although it is first at another school.
    joiner(
        ect,
        lead_provider=lead_provider,
        school=SchoolFactory(),
        start_date=at(2024, 2, 1),
        created=at(2024, 1, 1),
        school_transfer=False,
    )
    second_school = joiner(
        ect, lead_provider=lead_provider, school=school_2, start_date=at(2024, 2, 1), created=at(2024, 1, 2)
    )
    # Reporting the next leaver closes that period and opens a leaving one at the same school.
    close(second_school, at=at(2024, 4, 1))
    still_at_school_2 = joiner(
        ect,
        lead_provider=lead_provider,
        school=school_2,
        start_date=at(2024, 4, 1),
        created=at(2024, 4, 1),
        school_transfer=False,
    )
    leaving_again(ect, still_at_school_2, end_date=at(2024, 5, 31), created=at(2024, 4, 1))
    joiner(ect, lead_provider=other, school=school_3, start_date=at(2024, 6, 1), created=at(2024, 4, 2))

    with clock.frozen(at(2024, 7, 1)):
        mine = transfers_of(provider_client.get(show_url(ect.participant.id)))
        theirs = transfers_of(client_for(other).get(show_url(ect.participant.id)))

    assert [(t["leaving"]["school_urn"], t["joining"]["school_urn"], t["transfer_type"]) for t in mine] == [
        (ect.school.urn, school_2.urn, "new_school"),
        (school_2.urn, school_3.urn, "new_provider"),
    ]
    assert [t["created_at"] for t in mine] == ["2023-09-01T00:00:00Z", "2024-04-01T00:00:00Z"]
    assert theirs == mine[1:]


def test_a_transfer_created_before_the_leaver_can_still_be_its_joiner(provider_client, lead_provider):
    """Rules §6.2: the scan for a joiner includes periods created earlier than the leaver."""
    with clock.frozen(at(2024, 2, 1)):
        first = enrolled_participant(lead_provider=lead_provider, cohort=2023, start_date=at(2024, 3, 11))
        first.training_period.school_transfer = True
        first.training_period.save()
    leaving = joiner(
        first, lead_provider=lead_provider, start_date=at(2023, 9, 1), created=at(2024, 3, 1), school_transfer=False
    )
    leaving_again(first, leaving, end_date=at(2024, 3, 8), created=at(2024, 3, 2))

    [transfer] = transfers_of(provider_client.get(show_url(first.participant.id)))

    assert transfer["leaving"]["school_urn"] == leaving.school.urn
    assert transfer["joining"]["school_urn"] == first.school.urn


def test_person_without_a_leaving_period_has_no_transfers(provider_client, lead_provider):
    ect = enrolled_participant(lead_provider=lead_provider)
    ect.training_period.school_transfer = True
    ect.training_period.save()

    assert provider_client.get(URL).json() == {"data": []}
    assert provider_client.get(show_url(ect.participant.id)).status_code == 404


def test_other_providers_transfers_are_invisible(provider_client, lead_provider):
    mine = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8))
    theirs = leaver(lead_provider=LeadProviderFactory(), end_date=at(2024, 3, 8))

    assert ids(provider_client.get(URL)) == [str(mine.participant.id)]
    response = provider_client.get(show_url(theirs.participant.id))
    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


def test_unknown_and_non_uuid_ids_are_not_found(provider_client):
    assert provider_client.get(show_url("00000000-0000-0000-0000-000000000000")).status_code == 404
    assert provider_client.get(show_url("not-a-uuid")).status_code == 404


def test_transfers_list_is_not_taken_for_a_participant_id(provider_client, lead_provider):
    """`transfers` is a route of its own, not the id of a participant."""
    enrolled_participant(lead_provider=lead_provider)

    assert provider_client.get(URL).json() == {"data": []}


# --- Filters, order, pages ----------------------------------------------------------------------


def test_default_order_is_by_person_creation(provider_client, lead_provider):
    first = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, 1))
    second = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, 2))
    with clock.frozen(at(2024, 2, 1)):
        first.participant.save()

    assert ids(provider_client.get(URL)) == [str(first.participant.id), str(second.participant.id)]


def test_updated_since_is_inclusive_and_orders_by_update(provider_client, lead_provider):
    old = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, 1))
    first = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, 2))
    second = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, 3))
    with clock.frozen(at(2024, 6, 1)):
        second.participant.save()
    with clock.frozen(at(2024, 6, 2)):
        first.participant.save()

    response = provider_client.get(URL, {"filter[updated_since]": "2024-06-01T00:00:00Z"})

    assert ids(response) == [str(second.participant.id), str(first.participant.id)]
    assert str(old.participant.id) not in ids(
        provider_client.get(URL, {"filter[updated_since]": "2024-01-02T00:00:00Z"})
    )


@pytest.mark.parametrize("value", ["2024-06-01", "last week"])
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


def test_pagination_cuts_pages_in_order(provider_client, lead_provider):
    people = [
        str(leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, day)).participant.id)
        for day in range(1, 6)
    ]

    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "2"})) == people[2:4]
    assert ids(provider_client.get(URL, {"page[per_page]": "2", "page[page]": "3"})) == people[4:]
    assert provider_client.get(URL, {"page[per_page]": "2", "page[page]": "4"}).json() == {"data": []}
    assert provider_client.get(URL, {"page[per_page]": "0"}).status_code == 400


def test_query_count_does_not_grow_with_the_page(provider_client, lead_provider, django_assert_num_queries):
    other = LeadProviderFactory()
    ect = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8))
    joiner(ect, lead_provider=other, start_date=at(2024, 3, 11), created=at(2024, 2, 1))
    provider_client.get(URL)  # the token's first use is recorded once; later requests only read it

    def count_queries():
        # 1 token lookup, 1 page of people, 1 every period of those people (with school and provider)
        with django_assert_num_queries(3):
            response = provider_client.get(URL, {"page[per_page]": "3000"})
        return len(response.json()["data"])

    assert count_queries() == 1
    for day in range(1, 25):
        more = leaver(lead_provider=lead_provider, end_date=at(2024, 3, 8), created=at(2024, 1, day))
        joiner(more, lead_provider=other, start_date=at(2024, 3, 11), created=at(2024, 2, day))
    assert count_queries() == 25
