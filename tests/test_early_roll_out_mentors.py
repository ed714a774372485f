"""Mentors who completed during the early roll-out (rules §4.10; issue 14): a reference list of TRNs,
loaded by `manage.py load_early_roll_out_mentors FILE`, gives them completion on 19 April 2021."""

import io
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command

from declarations.models import DeclarationState
from ecf import clock
from participants.models import EarlyRollOutMentor, MentorCompletionReason, Participant
from participants.services import enrolment_refresh_mentor_completion, participant_correct_details
from tests.factories import DeclarationFactory, ParticipantFactory, enrolled_participant

pytestmark = pytest.mark.django_db
ERO_TRN = "1234567"
ERO = (date(2021, 4, 19), MentorCompletionReason.COMPLETED_DURING_EARLY_ROLL_OUT)


def load(tmp_path, *trns, header=True):
    path = tmp_path / "ero.csv"
    path.write_text(("trn\n" if header else "") + "".join(f"{trn}\n" for trn in trns))
    out = io.StringIO()
    call_command("load_early_roll_out_mentors", str(path), stdout=out)
    return out.getvalue()


def completion(enrolment):
    enrolment.refresh_from_db()
    return enrolment.mentor_completion_date, enrolment.mentor_completion_reason


@pytest.fixture
def mentor(lead_provider):
    return enrolled_participant(lead_provider=lead_provider, kind="mentor", participant=ParticipantFactory(trn=ERO_TRN))


def test_loading_the_list_completes_a_listed_mentor_in_the_roll_out_and_the_api_says_so(
    tmp_path, provider_client, mentor
):
    assert (
        load(tmp_path, ERO_TRN, "7654321") == "Early-roll-out list: 2 TRNs; 1 mentor enrolments brought up to date.\n"
    )

    assert completion(mentor.enrolment) == ERO
    enrolment = provider_client.get(f"/api/v3/participants/ecf/{mentor.participant.id}").json()["data"]["attributes"][
        "ecf_enrolments"
    ][0]
    assert (enrolment["mentor_funding_end_date"], enrolment["mentor_ineligible_for_funding_reason"]) == (
        "2021-04-19",
        "completed_during_early_roll_out",
    )


def test_the_list_wins_over_a_completed_declaration_and_leaving_it_falls_back_to_the_declaration(tmp_path, mentor):
    DeclarationFactory(
        enrolment=mentor.enrolment,
        declaration_type="completed",
        state=DeclarationState.SUBMITTED,
        declaration_date=datetime(2025, 9, 20, 10, tzinfo=UTC),
    )
    load(tmp_path, ERO_TRN)
    assert completion(mentor.enrolment) == ERO

    load(tmp_path, "7654321")  # the list is replaced: this mentor is no longer on it

    assert completion(mentor.enrolment) == (date(2025, 9, 20), MentorCompletionReason.COMPLETED_DECLARATION_RECEIVED)
    assert list(EarlyRollOutMentor.objects.values_list("trn", flat=True)) == ["7654321"]


def test_a_mentor_marked_started_not_completed_is_left_unchanged(tmp_path, lead_provider):
    mentor = enrolled_participant(
        lead_provider=lead_provider,
        kind="mentor",
        participant=ParticipantFactory(trn=ERO_TRN),
        mentor_completion_date=date(2024, 7, 31),
        mentor_completion_reason=MentorCompletionReason.STARTED_NOT_COMPLETED,
    )

    load(tmp_path, ERO_TRN)

    assert completion(mentor.enrolment) == (date(2024, 7, 31), MentorCompletionReason.STARTED_NOT_COMPLETED)


def test_correcting_a_trn_onto_the_list_completes_the_mentor(tmp_path, lead_provider):
    load(tmp_path, ERO_TRN)
    mentor = enrolled_participant(lead_provider=lead_provider, kind="mentor", participant=ParticipantFactory(trn=None))
    assert completion(mentor.enrolment) == (None, None)

    participant_correct_details(participant=mentor.participant, full_name="Sam Mentor", trn=ERO_TRN)

    assert completion(mentor.enrolment) == ERO


def test_a_listed_mentor_stays_completed_in_the_roll_out_after_a_declaration_is_voided(tmp_path, mentor):
    load(tmp_path, ERO_TRN)
    declaration = DeclarationFactory(enrolment=mentor.enrolment, declaration_type="completed", state="voided")

    enrolment_refresh_mentor_completion(enrolment_id=declaration.enrolment_id)

    assert completion(mentor.enrolment) == ERO


def test_refreshing_touches_the_participant_so_syncs_see_it(tmp_path, mentor):
    with clock.frozen(datetime(2026, 1, 5, 9, tzinfo=UTC)):
        load(tmp_path, ERO_TRN)

    assert Participant.objects.get(pk=mentor.participant.pk).updated_at == datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_a_file_with_a_bad_trn_changes_nothing(tmp_path, mentor):
    load(tmp_path, "7654321")

    with pytest.raises(CommandError, match=r"A TRN is 7 digits. \(12345\)"):
        load(tmp_path, ERO_TRN, "12345")

    assert list(EarlyRollOutMentor.objects.values_list("trn", flat=True)) == ["7654321"]
    assert completion(mentor.enrolment) == (None, None)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("load_early_roll_out_mentors", str(tmp_path / "nope.csv"))
