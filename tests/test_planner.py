"""ecf.planner: a page's rows are planned as index lookups, and the settings never outlive the block
(a leaked `enable_hashjoin = off` would make every later query of the connection, the statement
calculations' whole-cohort aggregates included, nested loops)."""

import pytest
from django.db import DatabaseError, connection, transaction

from ecf.planner import PLANNER_SETTINGS, index_lookups

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL planner settings")


def settings() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(PLANNER_SETTINGS)])
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_inside_the_block_the_planner_may_only_look_rows_up_by_index():
    with index_lookups():
        assert set(settings().values()) == {"off"}
    assert set(settings().values()) == {"on"}


@pytest.mark.django_db
def test_the_settings_are_put_back_when_the_block_raises():
    with pytest.raises(ValueError), index_lookups():
        raise ValueError("a renderer failed")
    assert set(settings().values()) == {"on"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_query_inside_a_transaction_leaves_the_settings_as_they_were():
    with pytest.raises(DatabaseError), transaction.atomic(), index_lookups(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    assert set(settings().values()) == {"on"}


@pytest.mark.django_db
def test_a_list_request_leaves_the_connection_as_it_found_it(provider_client):
    assert provider_client.get("/api/v3/participants/ecf").status_code == 200
    csv = provider_client.get("/api/v1/participants/ecf.csv")
    b"".join(csv.streaming_content)  # the cursor opens, under the settings, when the body is read
    assert set(settings().values()) == {"on"}
