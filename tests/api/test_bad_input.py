"""Inputs that used to answer 500 (issue 12.5): each gets the contract's 400 or 422, nothing is
written, and the request log keeps its entry.

* A NUL character (U+0000) anywhere in a JSON body: PostgreSQL text cannot hold it. One check in
  the body parser (api/parsers.py) answers 400 before any view reads the body.
* A NUL in a `filter[...]` value: 400 naming the filter (api/filters.py).
* An RFC 3339 offset beyond ±14:00 (no clock on Earth is further from UTC; PostgreSQL refuses ±16:00
  and more), or a date that leaves the calendar once moved to UTC: not a timestamp
  (ecf/rfc3339.py), so 400 on `filter[updated_since]` and 422 on `declaration_date`.
* A path with %00: 404, and its log entry is stored (the NUL shown as U+FFFD).
"""

from datetime import UTC, date, datetime

import pytest

from api.models import ApiRequestLog
from declarations.models import Declaration, DeclarationAttempt
from ecf import clock, rfc3339
from participants.models import ScheduleChange, TrainingStatusChange
from statements.models import StatementStatus
from tests.factories import StatementFactory, enrolled_participant

pytestmark = pytest.mark.django_db

SET_UP = datetime(2024, 6, 1, tzinfo=UTC)
TODAY = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
NUL = "\u0000"
NUL_BODY = [
    {
        "title": "Bad request",
        "detail": "Text values cannot contain the NUL character (\\u0000)",
        "code": "request.nul_character",
    }
]
UPDATED_SINCE_ERROR = [
    {
        "title": "Bad request",
        "detail": "The filter '#/updated_since' must be a valid RCF3339 date",
        "code": "filter.invalid_date",
    }
]
DATE_INVALID = {
    "title": "declaration_date",
    "detail": "Enter a valid RCF3339 '#/declaration_date'.",
    "code": "declaration.date_invalid",
}
# Beyond ±14:00, or out of the calendar once in UTC.
BAD_TIMESTAMPS = [
    "2024-06-01T10:00:00+16:00",
    "2024-06-01T10:00:00-16:00",
    "2024-06-01T10:00:00+23:59",
    "2024-06-01T10:00:00-1500",
    "2024-06-01T10:00:00+14:01",
    "2024-06-01T10:00:00+05:60",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
]
VALID_ATTRIBUTES = {
    "declaration_type": "started",
    "declaration_date": "2024-06-01T10:00:00Z",
    "course_identifier": "ecf-induction",
    "evidence_held": "training-event-attended",
    "has_passed": None,
}


@pytest.fixture
def ect(lead_provider):
    """A fundable ECT with an open output statement: a valid body would be accepted."""
    with clock.frozen(SET_UP):
        ect = enrolled_participant(lead_provider=lead_provider)
    StatementFactory(
        lead_provider=lead_provider,
        cohort=2024,
        year=2025,
        month=1,
        deadline_date=date(2024, 12, 31),
        payment_date=date(2025, 1, 25),
        output_fee=True,
        status=StatementStatus.OPEN,
    )
    return ect


def declaration_body(participant, **attributes) -> dict:
    attributes = {"participant_id": str(participant.id), **VALID_ATTRIBUTES, **attributes}
    return {"data": {"type": "participant-declaration", "attributes": attributes}}


def post_declaration(client, version: str, payload):
    with clock.frozen(TODAY):
        return client.post(f"/api/{version}/participant-declarations", payload, format="json")


def test_the_valid_body_of_these_tests_is_accepted(provider_client, ect):
    """The bodies below differ from this one in one value only."""
    response = post_declaration(provider_client, "v3", declaration_body(ect.participant))

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
@pytest.mark.parametrize("attribute", ["participant_id", *VALID_ATTRIBUTES])
@pytest.mark.parametrize("where", ["alone", "at the end"])
def test_a_nul_in_any_declaration_attribute_is_a_400_and_writes_nothing(
    provider_client, ect, version, attribute, where
):
    valid = str(ect.participant.id) if attribute == "participant_id" else VALID_ATTRIBUTES[attribute] or ""
    value = NUL if where == "alone" else f"{valid}{NUL}"

    response = post_declaration(provider_client, version, declaration_body(ect.participant, **{attribute: value}))

    assert (response.status_code, response.json()["errors"]) == (400, NUL_BODY)
    assert not Declaration.objects.exists()
    assert not DeclarationAttempt.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"data": {"type": f"participant-declaration{NUL}", "attributes": {}}}, id="type"),
        pytest.param({"data": {"type": "participant-declaration", "attributes": {f"x{NUL}": 1}}}, id="key"),
        pytest.param({"data": {"attributes": {"participant_id": ["a", {"b": NUL}]}}}, id="nested"),
    ],
)
def test_a_nul_anywhere_in_a_body_is_a_400(provider_client, payload):
    response = post_declaration(provider_client, "v3", payload)

    assert (response.status_code, response.json()["errors"]) == (400, NUL_BODY)


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
@pytest.mark.parametrize(
    ("action", "attributes"),
    [
        ("change-schedule", {"schedule_identifier": f"ecf-standard-january{NUL}"}),
        ("change-schedule", {"schedule_identifier": "ecf-standard-january", "cohort": f"2024{NUL}"}),
        ("withdraw", {"reason": f"moved-school{NUL}"}),
        ("defer", {"reason": NUL}),
        ("resume", {"course_identifier": f"ecf-induction{NUL}"}),
    ],
)
def test_a_nul_in_a_participant_action_is_a_400_and_changes_nothing(provider_client, ect, version, action, attributes):
    body = {
        "data": {"type": f"participant-{action}", "attributes": {"course_identifier": "ecf-induction", **attributes}}
    }
    path = f"/api/{version}/participants/ecf/{ect.participant.id}/{action}"

    with clock.frozen(TODAY):
        response = provider_client.put(path, body, format="json")

    assert (response.status_code, response.json()["errors"]) == (400, NUL_BODY)
    assert not ScheduleChange.objects.exists()
    assert not TrainingStatusChange.objects.exists()


@pytest.mark.parametrize("surrogate", [b'"\\ud800"', b'"\\udfff"', b'"\xed\xa0\x80"'], ids=["high", "low", "raw-utf8"])
def test_a_lone_surrogate_in_a_body_is_a_400(provider_client, ect, surrogate):
    """JSON can spell a lone surrogate (`\\ud800`); it is no character, and PostgreSQL cannot store it."""
    raw = b'{"data":{"type":"participant-declaration","attributes":{"declaration_type":' + surrogate + b"}}}"

    with clock.frozen(TODAY):
        response = provider_client.generic(
            "POST", "/api/v3/participant-declarations", raw, content_type="application/json"
        )

    assert response.status_code == 400
    assert response.json()["errors"][0]["title"] == "Bad request"
    assert not Declaration.objects.exists()


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v3/schools/ecf?filter[cohort]=2024&filter[urn]=", "urn"),
        ("/api/v3/schools/ecf?filter[cohort]=", "cohort"),
        ("/api/v3/participants/ecf?filter[cohort]=", "cohort"),
        ("/api/v3/participants/ecf?filter[training_status]=", "training_status"),
        ("/api/v3/participants/ecf?filter[from_participant_id]=", "from_participant_id"),
        ("/api/v3/participant-declarations?filter[participant_id]=", "participant_id"),
        ("/api/v3/participant-declarations?filter[delivery_partner_id]=", "delivery_partner_id"),
        ("/api/v3/statements?filter[type]=", "type"),
        ("/api/v1/participant-declarations?filter[participant_id]=", "participant_id"),
        ("/api/v1/participants/ecf?filter[updated_since]=", "updated_since"),
        ("/api/v2/participants/ecf.csv?filter[cohort]=", "cohort"),
    ],
)
def test_a_nul_in_a_filter_is_a_400_naming_the_filter(provider_client, ect, path, name):
    with clock.frozen(TODAY):
        response = provider_client.get(f"{path}%00")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "title": "Bad request",
            "detail": f"The filter '#/{name}' cannot contain the NUL character (%00)",
            "code": "filter.nul_character",
        }
    ]


@pytest.mark.parametrize("value", BAD_TIMESTAMPS)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v3/participants/ecf",
        "/api/v3/schools/ecf?filter[cohort]=2024&",
        "/api/v3/participant-declarations",
        "/api/v3/partnerships/ecf",
        "/api/v1/participant-declarations",
        "/api/v1/participants/ecf.csv",
    ],
)
def test_an_updated_since_offset_or_date_out_of_range_is_a_400(provider_client, path, value):
    separator = "" if path.endswith("&") else "?"
    encoded = value.replace("+", "%2B")

    with clock.frozen(TODAY):
        response = provider_client.get(f"{path}{separator}filter[updated_since]={encoded}")

    assert (response.status_code, response.json()["errors"]) == (400, UPDATED_SINCE_ERROR)


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
@pytest.mark.parametrize("value", BAD_TIMESTAMPS)
def test_a_declaration_date_offset_or_date_out_of_range_is_a_422_on_declaration_date(
    provider_client, ect, version, value
):
    response = post_declaration(provider_client, version, declaration_body(ect.participant, declaration_date=value))

    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [DATE_INVALID]
    assert not Declaration.objects.exists()


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2024-06-01T10:00:00+14:00", datetime(2024, 5, 31, 20, 0, tzinfo=UTC)),
        ("2024-06-01T10:00:00-14:00", datetime(2024, 6, 2, 0, 0, tzinfo=UTC)),
        ("2024-06-01T10:00:00-0930", datetime(2024, 6, 1, 19, 30, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59+00:00", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_offsets_up_to_fourteen_hours_and_every_calendar_date_still_parse_to_utc(value, utc):
    parsed = rfc3339.parse(value)

    assert parsed == utc
    assert parsed.utcoffset().total_seconds() == 0


def test_an_offset_of_fourteen_hours_is_accepted_by_the_api(provider_client):
    with clock.frozen(TODAY):
        response = provider_client.get("/api/v3/participants/ecf?filter[updated_since]=2024-06-01T10:00:00%2B14:00")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v3/participants/ecf/%00", "/api/v3/%00", "/api/v1/participant-declarations/a%00b"]
)
def test_a_path_with_a_nul_is_a_404_and_keeps_its_log_entry(provider_client, path, caplog):
    with clock.frozen(TODAY):
        response = provider_client.get(path)

    assert response.status_code == 404
    entry = ApiRequestLog.objects.get()
    assert entry.path == path.replace("%00", "\ufffd")
    assert entry.response_status == 404
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
