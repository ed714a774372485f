"""The real work measured by `make bench` where the API has no endpoint for it (BENCHMARK_FLOOR only)."""

import orjson
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from statements.calculation import calculate_statement
from statements.models import Statement


@require_GET
def statement_calculation(request, statement_id):
    """6: the finance calculation of one statement, as the statement page runs it."""
    calculation = calculate_statement(Statement(pk=statement_id))
    return HttpResponse(orjson.dumps({"total": str(calculation.total), "net": str(calculation.net)}))
