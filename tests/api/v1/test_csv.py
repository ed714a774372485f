"""The `.csv` lists of v1 and v2 (api.md §10.4, §16.11, §16.12): exact bytes, filters, streaming."""

from datetime import UTC, datetime

import pytest

from api.v1 import csv as csv_module
from ecf import clock
from participants.models import InductionStatus
from tests.factories import DeclarationFactory, ParticipantFactory, enrolled_participant

pytestmark = pytest.mark.django_db
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)
PARTICIPANT_HEADER = (
    "id,email,full_name,mentor_id,school_urn,participant_type,cohort,status,teacher_reference_number,"
    "teacher_reference_number_validated,eligible_for_funding,pupil_premium_uplift,sparsity_uplift,training_status,"
    "training_record_id,schedule_identifier,updated_at\n"
)
DECLARATION_HEADERS = {
    "v1": "id,participant_id,declaration_type,course_identifier,eligible_for_payment,declaration_date,updated_at,"
    "voided,state,has_passed\n",
    "v2": "id,participant_id,declaration_type,course_identifier,declaration_date,updated_at,state,has_passed\n",
}
PARTICIPANT_CSV_PATHS = [
    f"/api/{version}/{path}" for version in ("v1", "v2") for path in ("participants/ecf.csv", "participants.csv")
]


def body(response) -> str:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv"
    assert response.streaming
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def small_world(lead_provider):
    """A mentor with no TRN and no funding check, and their ECT whose name needs quoting and whose email is blank."""
    with clock.frozen(NOW):
        mentor = enrolled_participant(
            lead_provider=lead_provider,
            kind="mentor",
            fundable=False,
            participant=ParticipantFactory(full_name="Ann Mentor", email="ann@example.com", trn=None),
        )
    with clock.frozen(NOW.replace(hour=13)):
        ect = enrolled_participant(
            lead_provider=lead_provider,
            school=mentor.school,
            mentor=mentor.enrolment,
            pupil_premium_uplift=True,
            participant=ParticipantFactory(full_name='Smith, Jo "JJ"', email="", trn="1234567"),
        )
    return mentor, ect


@pytest.mark.parametrize("path", PARTICIPANT_CSV_PATHS)
def test_participants_csv_exact_bytes(provider_client, small_world, path):
    mentor, ect = small_world
    urn = mentor.school.urn

    assert body(provider_client.get(path)) == (
        PARTICIPANT_HEADER
        + f"{mentor.participant.id},ann@example.com,Ann Mentor,,{urn},mentor,2024,active,,,,false,false,active,"
        f"{mentor.enrolment.id},ecf-standard-september,2024-10-15T12:00:00Z\n"
        + f'{ect.participant.id},"","Smith, Jo ""JJ""",{mentor.participant.id},{urn},ect,2024,active,1234567,true,'
        f"true,true,false,active,{ect.enrolment.id},ecf-standard-september,2024-10-15T13:00:00Z\n"
    )


def test_participants_csv_rows_are_the_json_items(provider_client, small_world):
    mentor, _ = small_world
    mentor.training_period.induction_status = InductionStatus.WITHDRAWN
    mentor.training_period.save()

    items = provider_client.get("/api/v1/participants/ecf").json()["data"]
    lines = body(provider_client.get("/api/v1/participants/ecf.csv")).splitlines()

    assert len(lines) == len(items) + 1
    assert lines[1].split(",")[:8] == [
        items[0]["id"],
        items[0]["attributes"]["email"],
        items[0]["attributes"]["full_name"],
        "",
        items[0]["attributes"]["school_urn"],
        "mentor",
        "2024",
        "withdrawn",
    ]


@pytest.mark.parametrize(
    "path", [*PARTICIPANT_CSV_PATHS, "/api/v1/participant-declarations.csv", "/api/v2/participant-declarations.csv"]
)
def test_csv_without_rows_has_an_empty_body_and_no_header(provider_client, path):
    response = provider_client.get(path)

    assert body(response) == ""


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_declarations_csv_exact_bytes(provider_client, lead_provider, version):
    with clock.frozen(NOW):
        eligible = DeclarationFactory(lead_provider=lead_provider, eligible=True)
    with clock.frozen(NOW.replace(hour=13)):
        clawed_back = DeclarationFactory(lead_provider=lead_provider, clawed_back=True, declaration_type="retained-1")
    first_date = eligible.declaration_date.strftime("%Y-%m-%dT%H:%M:%SZ")
    second_date = clawed_back.declaration_date.strftime("%Y-%m-%dT%H:%M:%SZ")
    if version == "v1":
        rows = (
            f"{eligible.id},{eligible.participant_id},started,ecf-induction,true,{first_date},2024-10-15T12:00:00Z,"
            "false,eligible,\n"
            f"{clawed_back.id},{clawed_back.participant_id},retained-1,ecf-induction,false,{second_date},"
            "2024-10-15T13:00:00Z,false,clawed-back,\n"
        )
    else:
        rows = (
            f"{eligible.id},{eligible.participant_id},started,ecf-induction,{first_date},2024-10-15T12:00:00Z,"
            "eligible,\n"
            f"{clawed_back.id},{clawed_back.participant_id},retained-1,ecf-induction,{second_date},"
            "2024-10-15T13:00:00Z,clawed-back,\n"
        )

    assert body(provider_client.get(f"/api/{version}/participant-declarations.csv")) == (
        DECLARATION_HEADERS[version] + rows
    )


@pytest.mark.parametrize("path", ["participants/ecf.csv", "participants.csv", "participant-declarations.csv"])
def test_v3_has_no_csv(provider_client, small_world, path):
    """api.md §15: CSV is a v1/v2 representation only."""
    response = provider_client.get(f"/api/v3/{path}")

    assert response.status_code == 404
    assert response.json() == {"error": "Resource not Found"}


# --- Same filters and scoping as the JSON list, no paging --------------------------------------


def test_participants_csv_takes_the_lists_filters(provider_client, lead_provider):
    with clock.frozen(datetime(2024, 1, 1, tzinfo=UTC)):
        old = enrolled_participant(lead_provider=lead_provider, cohort=2024)
    with clock.frozen(datetime(2024, 6, 1, tzinfo=UTC)):
        new = enrolled_participant(lead_provider=lead_provider, cohort=2025)
    enrolled_participant()  # another provider's

    def listed(query):
        return [
            line.split(",")[0]
            for line in body(provider_client.get("/api/v1/participants/ecf.csv", query)).splitlines()[1:]
        ]

    assert listed({}) == [str(old.participant.id), str(new.participant.id)]
    assert listed({"filter[cohort]": "2025"}) == [str(new.participant.id)]
    assert listed({"filter[updated_since]": "2024-06-01T00:00:00Z"}) == [str(new.participant.id)]
    response = provider_client.get("/api/v1/participants/ecf.csv", {"filter[updated_since]": "2024-06-01"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "The filter '#/updated_since' must be a valid RCF3339 date"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_declarations_csv_takes_the_lists_filters(provider_client, lead_provider, version):
    url = f"/api/{version}/participant-declarations.csv"
    with clock.frozen(datetime(2024, 6, 1, 10, 0, tzinfo=UTC)):
        mine = DeclarationFactory(lead_provider=lead_provider)
    with clock.frozen(datetime(2024, 7, 1, tzinfo=UTC)):
        other = DeclarationFactory(lead_provider=lead_provider)

    def listed(query):
        return [line.split(",")[0] for line in body(provider_client.get(url, query)).splitlines()[1:]]

    assert listed({"filter[participant_id]": str(mine.participant_id)}) == [str(mine.id)]
    assert listed({"filter[updated_since]": "2024-06-01T10:00:00Z"}) == [str(other.id)]  # strict
    assert provider_client.get(url, {"filter[participant_id]": "nope"}).status_code == 400


def test_csv_ignores_paging(provider_client, small_world):
    for query in ({"page[per_page]": "1"}, {"page[page]": "0"}, {"page[page]": "2", "page[per_page]": "1"}):
        assert len(body(provider_client.get("/api/v1/participants/ecf.csv", query)).splitlines()) == 3


def test_csv_is_chosen_by_the_suffix_and_ignores_the_accept_header(provider_client, small_world):
    response = provider_client.get("/api/v1/participants/ecf.csv", HTTP_ACCEPT="text/csv")

    assert body(response).startswith(PARTICIPANT_HEADER)
    json_list = provider_client.get("/api/v1/participants/ecf", HTTP_ACCEPT="text/csv")
    assert json_list["Content-Type"] == "application/vnd.api+json"


# --- Streaming -----------------------------------------------------------------------------------


def test_csv_streams_in_chunks_with_one_query_whatever_the_rows(
    provider_client, lead_provider, monkeypatch, django_assert_num_queries
):
    """Rows come from a server-side cursor a chunk at a time and go out in pieces: memory does not
    grow with the rows and neither does the number of queries."""
    monkeypatch.setattr(csv_module, "CHUNK_SIZE", 3)
    monkeypatch.setattr(csv_module, "ROWS_PER_PIECE", 2)
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor")
    DeclarationFactory(enrolment=mentor.enrolment)
    provider_client.get("/api/v1/ping")  # records the token's first use, a write we don't count here

    def pieces_and_lines(url) -> tuple[int, int]:
        # 1 token lookup, 1 query read through the cursor (the rows' chunks are fetches, not queries),
        # 2 for the planner settings on and back around its opening (ecf.planner: rows by primary key)
        with django_assert_num_queries(4):
            response = provider_client.get(url)
            assert response.streaming
            pieces = list(response.streaming_content)
        return len(pieces), b"".join(pieces).count(b"\n")

    # Header and one row: one piece.
    assert pieces_and_lines("/api/v1/participants/ecf.csv") == (1, 2)
    assert pieces_and_lines("/api/v2/participant-declarations.csv") == (1, 2)
    for _ in range(10):
        ect = enrolled_participant(lead_provider=lead_provider, mentor=mentor.enrolment, school=mentor.school)
        DeclarationFactory(enrolment=ect.enrolment)
    # Header and eleven rows, read three at a time, sent two lines at a time.
    assert pieces_and_lines("/api/v1/participants/ecf.csv") == (6, 12)
    assert pieces_and_lines("/api/v2/participant-declarations.csv") == (6, 12)


# --- Cells ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (None, ""),
        ("", '""'),
        (True, "true"),
        (False, "false"),
        ("plain", "plain"),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("two\nlines", '"two\nlines"'),
        ("0012345", "0012345"),
    ],
)
def test_cells_are_written_as_the_original_writes_them(value, written):
    assert csv_module.cell(value) == written
