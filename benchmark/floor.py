"""The floors of `make bench` (issue 9): the least work that answers the same request.

Each list floor is ONE hand-written SQL query (the token check included) that reads the page as an
index range scan of the read model of visibility (visibility.models) and whose rows come back
already formatted (ids as text, timestamps as RFC 3339 text, derived values computed by
PostgreSQL), assembled into the response with plain loops and encoded with orjson. The bench
asserts that each floor's body is byte-identical to the real endpoint's before timing either,
so a floor cannot win by answering something else.

PostgreSQL only, mounted only when BENCHMARK_FLOOR=true (benchmark/urls.py), never public. Only the
parameters the bench sends are read: `page[page]`, `page[per_page]` and `filter[updated_since]`
(otherwise the lists' defaults apply: participants of cohorts after 2020, every declaration).
"""

import orjson
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from api.authentication import LeadProviderTokenAuthentication
from api.pagination import parse_page
from ecf import clock, rfc3339
from participants.tokens import token_digest

JSON_API = "application/vnd.api+json"
UNAUTHORISED = {"error": "HTTP Token: Access denied"}
CSV_ROWS_PER_FETCH = 2000


def _digest(request) -> str | None:
    raw = LeadProviderTokenAuthentication._raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
    return token_digest(raw) if raw else None


def _unauthorised() -> JsonResponse:
    return JsonResponse(UNAUTHORISED, status=401)


def _empty_or_unauthorised(digest: str):
    """Only an empty answer costs a second query: was the token wrong, or the page past the end?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM participants_apitoken WHERE digest = %s AND revoked_at IS NULL", [digest])
        known = cursor.fetchone() is not None
    return HttpResponse(b'{"data":[]}', content_type=JSON_API) if known else _unauthorised()


def _updated_since(request):
    """`filter[updated_since]`, the one filter the floors read (the bench's polls send it)."""
    raw = request.GET.get("filter[updated_since]")
    return None if raw is None else rfc3339.parse(raw)


def _page(request) -> tuple[int, int]:
    page = parse_page(request.GET)
    return page.per_page, page.offset


# An RFC 3339 timestamp in UTC, whole seconds (ecf.rfc3339.format_timestamp).
def _ts(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def _date(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM-DD')"


PROVIDER_CTE = """
provider AS (
    SELECT t.lead_provider_id AS id FROM participants_apitoken t
    WHERE t.digest = %(digest)s AND t.revoked_at IS NULL
)"""

# --- 1-3: v3 participants ------------------------------------------------------------------------

# A page of people is an index range scan of the read model (visibility.models): the provider's rows
# in list order, each kept when one of its training records is in a default cohort, then the
# page's latest periods by their ids. The physical limit of the request, not our own algorithm.
# (A person is in a default cohort when one of their records is: their latest cohort, in the row.)
PEOPLE_PAGE_CONDITIONS = "pv.lead_provider_id = (SELECT id FROM provider) AND pv.max_cohort > 2020"

V3_PARTICIPANTS_SQL = f"""
WITH {PROVIDER_CTE},
page_ids AS MATERIALIZED (
    SELECT pv.participant_id FROM visibility_participantvisibility pv
    WHERE {PEOPLE_PAGE_CONDITIONS} {{since}}
    ORDER BY pv.created_at, pv.participant_id
    -- An offset the planner cannot see: past the end of its estimate it would plan the page as one
    -- row and join the page's CTEs by nested loops over each other.
    LIMIT %(limit)s OFFSET (SELECT %(offset)s::bigint)
),
page AS MATERIALIZED (
    SELECT pa.id, pa.full_name, pa.trn, pa.email, pa.updated_at, pa.created_at
    FROM page_ids JOIN participants_participant pa ON pa.id = page_ids.participant_id
),
page_latest AS MATERIALIZED (
    SELECT tp.*, p.delivery_partner_id
    FROM page
    JOIN visibility_trainingrecordvisibility r ON r.participant_id = page.id
        AND r.lead_provider_id = (SELECT id FROM provider)
    JOIN participants_trainingperiod tp ON tp.id = r.period_id
    JOIN participants_partnership p ON p.id = tp.partnership_id
)
SELECT
    page.id::text, page.full_name, page.trn, {_ts("page.updated_at")},
    ids.from_ids, ids.to_ids, ids.changed_at,
    e.id::text,
    COALESCE(NULLIF(l.email, ''), page.email),
    CASE WHEN e.kind = 'ect' THEN m.participant_id::text END,
    sc.urn, e.kind, l.cohort_id::text, l.training_status,
    CASE
        WHEN l.end_date IS NOT NULL THEN CASE WHEN l.end_date > %(now)s THEN 'leaving' ELSE 'left' END
        WHEN l.start_date > %(now)s THEN 'joining'
        WHEN l.induction_status IN ('active', 'completed') THEN 'active'
        WHEN l.induction_status IN ('withdrawn', 'changed') THEN 'withdrawn'
    END,
    CASE WHEN COALESCE(NULLIF(page.trn, ''), NULLIF(e.validation_trn, '')) IS NOT NULL
        THEN e.eligibility_status IS NOT NULL AND e.eligibility_reason IS DISTINCT FROM 'different_trn' END,
    CASE e.eligibility_status WHEN 'eligible' THEN true WHEN 'ineligible' THEN false END,
    e.pupil_premium_uplift, e.sparsity_uplift, s.identifier, l.delivery_partner_id::text,
    CASE w.reason WHEN 'school-left-fip' THEN 'switched-to-school-led' ELSE w.reason END, {_ts("w.created_at")},
    d.reason, {_ts("d.created_at")},
    {_ts("e.created_at")}, {_date("e.induction_completion_date")},
    CASE WHEN e.kind = 'mentor' THEN {_date("e.mentor_completion_date")} END,
    e.cohort_changed_after_payments_frozen,
    CASE WHEN e.kind = 'mentor' THEN e.mentor_completion_reason END
FROM page
LEFT JOIN LATERAL (
    SELECT array_agg(c.from_participant_id::text ORDER BY c.created_at, c.id) AS from_ids,
           array_agg(c.to_participant_id::text ORDER BY c.created_at, c.id) AS to_ids,
           array_agg({_ts("c.created_at")} ORDER BY c.created_at, c.id) AS changed_at
    FROM participants_participantidchange c WHERE c.participant_id = page.id
) ids ON true
LEFT JOIN (page_latest l JOIN participants_enrolment e ON e.id = l.enrolment_id) ON e.participant_id = page.id
LEFT JOIN participants_enrolment m ON m.id = l.mentor_id
LEFT JOIN participants_school sc ON sc.id = l.school_id
LEFT JOIN participants_schedule s ON s.id = l.schedule_id
LEFT JOIN LATERAL (
    SELECT x.reason, x.created_at FROM participants_trainingstatuschange x
    WHERE x.enrolment_id = e.id AND x.lead_provider_id = (SELECT id FROM provider)
      AND x.training_status = 'withdrawn' AND l.training_status = 'withdrawn'
    ORDER BY x.created_at DESC, x.id DESC LIMIT 1
) w ON true
LEFT JOIN LATERAL (
    SELECT x.reason, x.created_at FROM participants_trainingstatuschange x
    WHERE x.enrolment_id = e.id AND x.lead_provider_id = (SELECT id FROM provider)
      AND x.training_status = 'deferred' AND l.training_status = 'deferred'
    ORDER BY x.created_at DESC, x.id DESC LIMIT 1
) d ON true
ORDER BY page.created_at, page.id, e.created_at, e.id
"""


@require_GET
def v3_participants(request):
    digest = _digest(request)
    if digest is None:
        return _unauthorised()
    limit, offset = _page(request)
    since = _updated_since(request)
    sql = V3_PARTICIPANTS_SQL.format(since="" if since is None else "AND pv.updated_at >= %(since)s")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"digest": digest, "limit": limit, "offset": offset, "now": clock.now(), "since": since})
        rows = cursor.fetchall()
    if not rows:
        return _empty_or_unauthorised(digest)
    data = []
    enrolments = None
    person_id = None
    for row in rows:
        if row[0] != person_id:
            person_id = row[0]
            enrolments = []
            from_ids = row[4] or ()
            data.append(
                {
                    "id": person_id,
                    "type": "participant",
                    "attributes": {
                        "full_name": row[1],
                        "teacher_reference_number": row[2],
                        "updated_at": row[3],
                        "ecf_enrolments": enrolments,
                        "participant_id_changes": [
                            {"from_participant_id": f, "to_participant_id": t, "changed_at": at}
                            for f, t, at in zip(from_ids, row[5] or (), row[6] or (), strict=True)
                        ],
                    },
                }
            )
        if row[7] is None:
            continue
        enrolments.append(
            {
                "training_record_id": row[7],
                "email": row[8],
                "mentor_id": row[9],
                "school_urn": row[10],
                "participant_type": row[11],
                "cohort": row[12],
                "training_status": row[13],
                "participant_status": row[14],
                "teacher_reference_number_validated": row[15],
                "eligible_for_funding": row[16],
                "pupil_premium_uplift": row[17],
                "sparsity_uplift": row[18],
                "schedule_identifier": row[19],
                "delivery_partner_id": row[20],
                "withdrawal": None if row[22] is None else {"reason": row[21], "date": row[22]},
                "deferral": None if row[24] is None else {"reason": row[23], "date": row[24]},
                "created_at": row[25],
                "induction_end_date": row[26],
                "mentor_funding_end_date": row[27],
                "cohort_changed_after_payments_frozen": row[28],
                "mentor_ineligible_for_funding_reason": row[29],
            }
        )
    return HttpResponse(orjson.dumps({"data": data}), content_type=JSON_API)


# --- 2: v3 declarations ---------------------------------------------------------------------------

# A page of declarations is an index range scan of the read model, then the page's rows by id.
V3_DECLARATIONS_SQL = f"""
WITH {PROVIDER_CTE},
page AS MATERIALIZED (
    SELECT dv.declaration_id AS id FROM visibility_declarationvisibility dv
    WHERE dv.lead_provider_id = (SELECT id FROM provider) {{since}}
    ORDER BY dv.created_at, dv.declaration_id
    LIMIT %(limit)s OFFSET (SELECT %(offset)s::bigint)
)
SELECT
    d.id::text, d.participant_id::text, d.declaration_type, d.course_identifier, {_ts("d.declaration_date")},
    d.mentor_id::text, replace(d.state, '_', '-'), {_ts("d.updated_at")}, {_ts("d.created_at")},
    d.delivery_partner_id::text,
    CASE WHEN d.state IN ('eligible', 'payable', 'paid', 'awaiting_clawback', 'clawed_back')
        THEN d.statement_id::text END,
    d.clawback_statement_id::text,
    CASE WHEN d.state = 'ineligible' THEN
        CASE d.ineligibility_reason WHEN 'duplicate' THEN 'duplicate_declaration' ELSE d.ineligibility_reason END
    END,
    (d.course_identifier = 'ecf-induction' AND d.declaration_type = 'started'
        AND d.state IN ('paid', 'awaiting_clawback', 'clawed_back') AND (d.sparsity_uplift OR d.pupil_premium_uplift)),
    d.evidence_held, lp.name
FROM page
JOIN declarations_declaration d ON d.id = page.id
JOIN participants_leadprovider lp ON lp.id = d.lead_provider_id
ORDER BY d.created_at, d.id
"""


@require_GET
def v3_declarations(request):
    digest = _digest(request)
    if digest is None:
        return _unauthorised()
    limit, offset = _page(request)
    since = _updated_since(request)
    sql = V3_DECLARATIONS_SQL.format(since="" if since is None else "AND dv.updated_at >= %(since)s")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"digest": digest, "limit": limit, "offset": offset, "since": since})
        rows = cursor.fetchall()
    if not rows:
        return _empty_or_unauthorised(digest)
    data = [
        {
            "id": row[0],
            "type": "participant-declaration",
            "attributes": {
                "participant_id": row[1],
                "declaration_type": row[2],
                "course_identifier": row[3],
                "declaration_date": row[4],
                "mentor_id": row[5],
                "state": row[6],
                "updated_at": row[7],
                "created_at": row[8],
                "delivery_partner_id": row[9],
                "statement_id": row[10],
                "clawback_statement_id": row[11],
                "ineligible_for_funding_reason": row[12],
                "uplift_paid": row[13],
                "evidence_held": row[14],
                "has_passed": None,
                "lead_provider_name": row[15],
            },
        }
        for row in rows
    ]
    return HttpResponse(orjson.dumps({"data": data}), content_type=JSON_API)


# --- 4: v1 participants CSV -----------------------------------------------------------------------


def _csv_text(column: str) -> str:
    """A free-text cell as api.v1.csv.cell writes it: empty as `""`, quoted when it holds , " CR or LF."""
    return (
        f"CASE WHEN {column} IS NULL THEN '' WHEN {column} = '' THEN '\"\"' "
        f"WHEN {column} ~ '[,\"\\r\\n]' THEN '\"' || replace({column}, '\"', '\"\"') || '\"' ELSE {column} END"
    )


def _csv_bool(expression: str) -> str:
    return f"CASE WHEN ({expression}) IS NULL THEN '' WHEN ({expression}) THEN 'true' ELSE 'false' END"


CSV_HEADER = (
    "id,email,full_name,mentor_id,school_urn,participant_type,cohort,status,teacher_reference_number,"
    "teacher_reference_number_validated,eligible_for_funding,pupil_premium_uplift,sparsity_uplift,training_status,"
    "training_record_id,schedule_identifier,updated_at\n"
)
_V1_TRN = "COALESCE(NULLIF(pa.trn, ''), NULLIF(e.validation_trn, ''))"
_TRN_VALIDATED = "e.eligibility_status IS NOT NULL AND e.eligibility_reason IS DISTINCT FROM 'different_trn'"
V1_CSV_SQL = f"""
WITH {PROVIDER_CTE},
latest AS (
    SELECT r.period_id AS id FROM visibility_trainingrecordvisibility r
    WHERE r.lead_provider_id = (SELECT id FROM provider)
)
SELECT concat_ws(',',
    pa.id::text,
    {_csv_text("COALESCE(NULLIF(l.email, ''), pa.email)")},
    {_csv_text("pa.full_name")},
    CASE WHEN e.kind = 'ect' THEN COALESCE(m.participant_id::text, '') ELSE '' END,
    sc.urn, e.kind, l.cohort_id::text,
    CASE WHEN l.induction_status IN ('withdrawn', 'changed') THEN 'withdrawn' ELSE 'active' END,
    {_csv_text(_V1_TRN)},
    {_csv_bool(f"CASE WHEN {_V1_TRN} IS NOT NULL THEN {_TRN_VALIDATED} END")},
    {_csv_bool("CASE e.eligibility_status WHEN 'eligible' THEN true WHEN 'ineligible' THEN false END")},
    {_csv_bool("e.pupil_premium_uplift")}, {_csv_bool("e.sparsity_uplift")},
    l.training_status, e.id::text, s.identifier,
    {_ts("GREATEST(pa.updated_at, e.updated_at, l.updated_at)")}
) || E'\\n'
FROM latest
JOIN participants_trainingperiod l ON l.id = latest.id
JOIN participants_enrolment e ON e.id = l.enrolment_id
JOIN participants_participant pa ON pa.id = e.participant_id
JOIN participants_schedule s ON s.id = l.schedule_id
JOIN participants_school sc ON sc.id = l.school_id
LEFT JOIN participants_enrolment m ON m.id = l.mentor_id
WHERE s.cohort_id > 2020
ORDER BY pa.created_at, pa.id, e.created_at, e.id
"""


@require_GET
def v1_participants_csv(request):
    digest = _digest(request)
    if digest is None:
        return _unauthorised()
    return StreamingHttpResponse(_csv_pieces(digest), content_type="text/csv")


def _csv_pieces(digest: str):
    """Header, then the lines as PostgreSQL wrote them, a fetch at a time (a server-side cursor)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(V1_CSV_SQL, {"digest": digest})
        header_sent = False
        while lines := cursor.fetchmany(CSV_ROWS_PER_FETCH):
            text = "".join(line for (line,) in lines)
            if not header_sent:
                text, header_sent = CSV_HEADER + text, True
            yield text.encode()


# --- 5: declaration submission: one row and its history row, in one transaction ------------------

SUBMIT_SQL = """
WITH provider AS (
    SELECT t.lead_provider_id AS id FROM participants_apitoken t
    WHERE t.digest = %(digest)s AND t.revoked_at IS NULL
),
inserted AS (
    INSERT INTO declarations_declaration (
        id, enrolment_id, participant_id, lead_provider_id, cohort_id, course_identifier, declaration_type,
        declaration_date, state, evidence_held, pupil_premium_uplift, sparsity_uplift, created_at, updated_at
    )
    SELECT gen_random_uuid(), e.id, e.participant_id, (SELECT id FROM provider), s.cohort_id, %(course)s, %(type)s,
        %(date)s, 'submitted', %(evidence)s, false, false, %(now)s, %(now)s
    FROM participants_enrolment e JOIN participants_schedule s ON s.id = e.schedule_id
    WHERE e.participant_id = %(participant)s AND e.kind = %(kind)s AND EXISTS (SELECT 1 FROM provider)
    LIMIT 1
    RETURNING id, lead_provider_id
)
INSERT INTO declarations_declarationstatechange (declaration_id, from_state, state, reason, actor_kind,
    actor_lead_provider_id, created_at)
SELECT id, '', 'submitted', '', 'lead_provider', lead_provider_id, %(now)s FROM inserted
RETURNING declaration_id::text
"""
KIND_FOR_COURSE = {"ecf-induction": "ect", "ecf-mentor": "mentor"}


@csrf_exempt
@require_POST
def declaration_submit_floor(request):
    digest = _digest(request)
    if digest is None:
        return _unauthorised()
    attributes = orjson.loads(request.body)["data"]["attributes"]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            SUBMIT_SQL,
            {
                "digest": digest,
                "participant": attributes["participant_id"],
                "course": attributes["course_identifier"],
                "kind": KIND_FOR_COURSE.get(attributes["course_identifier"]),
                "type": attributes["declaration_type"],
                "date": attributes["declaration_date"],
                "evidence": attributes.get("evidence_held"),
                "now": clock.now(),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"errors": [{"title": "participant_id", "detail": "not recognised"}]}, status=422)
    body = {"data": {"id": row[0], "type": "participant-declaration"}}
    return HttpResponse(orjson.dumps(body), content_type=JSON_API)


# --- 6: statement calculation -------------------------------------------------------------------

# The lines the calculation counts (statements.calculation._count_lines), in one aggregate.
STATEMENT_AGGREGATE_SQL = """
WITH this AS (SELECT id, lead_provider_id, cohort_id, payment_date FROM statements_statement WHERE id = %(id)s),
window_statements AS (
    SELECT s.id, s.id = (SELECT id FROM this) AS current FROM statements_statement s, this
    WHERE s.lead_provider_id = this.lead_provider_id AND s.cohort_id = this.cohort_id
      AND (s.id = this.id OR s.payment_date < this.payment_date)
),
lines AS (
    SELECT false AS clawback, w.current, d.state, d.course_identifier, d.declaration_type,
           d.sparsity_uplift, d.pupil_premium_uplift
    FROM declarations_declaration d JOIN window_statements w ON w.id = d.statement_id
    WHERE d.state IN ('eligible', 'payable', 'paid', 'awaiting_clawback', 'clawed_back', 'voided', 'ineligible')
    UNION ALL
    SELECT true, w.current, d.state, d.course_identifier, d.declaration_type, d.sparsity_uplift, d.pupil_premium_uplift
    FROM declarations_declaration d JOIN window_statements w ON w.id = d.clawback_statement_id
    WHERE d.state IN ('awaiting_clawback', 'clawed_back')
)
SELECT clawback, current, state, course_identifier, declaration_type, sparsity_uplift, pupil_premium_uplift, count(*)
FROM lines GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


@require_GET
def statement_aggregate(request, statement_id):
    with connection.cursor() as cursor:
        cursor.execute(STATEMENT_AGGREGATE_SQL, {"id": statement_id})
        rows = cursor.fetchall()
    return HttpResponse(orjson.dumps({"groups": len(rows), "lines": sum(row[-1] for row in rows)}))
