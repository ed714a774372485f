"""School funding eligibility and CIP-only status (rules §1.3).

The model properties (one school in memory) and the queryset filters (the API's school lists)
are two implementations of one rule: every case checks both, and one test checks them on a
whole table of schools at once.
"""

import pytest

from participants.models import School
from tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db

INELIGIBLE_TYPES = (10, 11, 24, 25, 26, 27, 29, 30, 37, 49, 56)
CIP_ONLY_TYPES = (10, 11, 30, 37)  # ineligible types whose schools may still use school-led materials

ENGLAND = "E09000001"
WALES = "W06000015"


def school_case(case_id: str, eligible: bool, cip_only: bool, **school):
    return pytest.param(school, eligible, cip_only, id=case_id)


CASES = [
    # Open: status 1 (open) and 3 (open, but proposed to close); nothing else.
    school_case("open", True, False, school_status_code=1),
    school_case("open-proposed-to-close", True, False, school_status_code=3),
    school_case("closed", False, False, school_status_code=2),
    school_case("proposed-to-open", False, False, school_status_code=4),
    # In England: district code starting E or e, or exactly 9999.
    school_case("district-E", True, False, administrative_district_code="E06000001"),
    school_case("district-lower-case-e", True, False, administrative_district_code="e10000002"),
    school_case("district-9999", True, False, administrative_district_code="9999"),
    school_case("district-wales", False, False, administrative_district_code=WALES),
    school_case("district-scotland", False, False, administrative_district_code="S12000033"),
    school_case("district-northern-ireland", False, False, administrative_district_code="N09000001"),
    school_case("district-99999", False, False, administrative_district_code="99999"),
    school_case("district-blank", False, False, administrative_district_code=""),
    # Ordinary establishment types are eligible.
    *[school_case(f"type-{code}", True, False, school_type_code=code) for code in (1, 2, 3, 5, 6, 28, 34, 35, 36)],
    # Every ineligible type is ineligible; the CIP-only ones may use school-led materials...
    *[
        school_case(f"ineligible-type-{code}", False, code in CIP_ONLY_TYPES, school_type_code=code)
        for code in INELIGIBLE_TYPES
    ],
    # ...unless section 41 approved, which makes the school eligible (and so not CIP-only).
    *[
        school_case(f"section-41-type-{code}", True, False, school_type_code=code, section_41_approved=True)
        for code in INELIGIBLE_TYPES
    ],
    # Section 41 approval does not open a school or move it to England.
    school_case("section-41-closed", False, False, school_type_code=11, section_41_approved=True, school_status_code=2),
    school_case(
        "section-41-in-wales",
        False,
        True,
        school_type_code=11,
        section_41_approved=True,
        administrative_district_code=WALES,
    ),
    # CIP-only needs an open school, and only its type matters, not where it is.
    school_case("cip-type-proposed-to-close", False, True, school_type_code=10, school_status_code=3),
    school_case("cip-type-closed", False, False, school_type_code=10, school_status_code=2),
    school_case("welsh-establishment", False, True, school_type_code=30, administrative_district_code=WALES),
    school_case("ordinary-type-in-wales", False, False, school_type_code=1, administrative_district_code=WALES),
    school_case("ineligible-not-cip-type", False, False, school_type_code=25, administrative_district_code=WALES),
]


@pytest.mark.parametrize(("fields", "eligible", "cip_only"), CASES)
def test_model_and_queryset_agree_on_funding_eligibility(fields, eligible, cip_only):
    school = SchoolFactory(**fields)

    assert school.is_eligible_for_funding is eligible
    assert School.objects.eligible_for_funding().filter(pk=school.pk).exists() is eligible
    assert school.is_cip_only is cip_only
    assert School.objects.cip_only().filter(pk=school.pk).exists() is cip_only


def test_the_querysets_pick_out_exactly_the_schools_the_properties_name():
    schools = [SchoolFactory(**case.values[0]) for case in CASES]

    eligible = {school.pk for school in schools if school.is_eligible_for_funding}
    cip_only = {school.pk for school in schools if school.is_cip_only}
    assert set(School.objects.eligible_for_funding().values_list("pk", flat=True)) == eligible
    assert set(School.objects.cip_only().values_list("pk", flat=True)) == cip_only
    assert eligible and cip_only and not eligible & cip_only


@pytest.mark.parametrize(
    ("trait", "eligible", "cip_only"),
    [
        ("eligible", True, False),
        ("closed", False, False),
        ("cip_only", False, True),
        ("welsh", False, False),
        ("section_41", True, False),
    ],
)
def test_school_factory_traits_mean_what_they_say(trait, eligible, cip_only):
    school = SchoolFactory(**{trait: True})

    assert (school.is_eligible_for_funding, school.is_cip_only) == (eligible, cip_only)
    assert School.objects.eligible_for_funding().filter(pk=school.pk).exists() is eligible
    assert School.objects.cip_only().filter(pk=school.pk).exists() is cip_only


def test_urns_are_distinct_six_digit_strings():
    urns = [SchoolFactory().urn for _ in range(3)]

    assert len(set(urns)) == 3
    assert all(len(urn) == 6 and urn.isdigit() for urn in urns)
