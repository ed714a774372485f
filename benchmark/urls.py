"""Mounted at /_bench/ only when BENCHMARK_FLOOR=true (ecf/urls.py): not part of the public API."""

from django.urls import path

from benchmark import floor, views

urlpatterns = [
    path("floor/v3/participants/ecf", floor.v3_participants),
    path("floor/v3/participant-declarations", floor.v3_declarations),
    path("floor/v3/participant-declarations/submit", floor.declaration_submit_floor),
    path("floor/v1/participants/ecf.csv", floor.v1_participants_csv),
    path("floor/statements/<uuid:statement_id>/aggregate", floor.statement_aggregate),
    path("statements/<uuid:statement_id>/calculation", views.statement_calculation),
]
