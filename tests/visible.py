"""The ids a provider can see, read the way an integrator reads them: through its own v3 lists.

Used by the isolation matrix (another provider's ids are exactly what this returns for it) and by
the fuzz run (real ids to put into generated paths and bodies).
"""

from collections import defaultdict

ALL = {"page[per_page]": "3000"}
# Kind of id -> the v3 list that shows records of that kind.
LISTS = {
    "participant": "/api/v3/participants/ecf",
    "transfer": "/api/v3/participants/ecf/transfers",
    "declaration": "/api/v3/participant-declarations",
    "partnership": "/api/v3/partnerships/ecf",
    "statement": "/api/v3/statements",
    "delivery_partner": "/api/v3/delivery-partners",
    "unfunded_mentor": "/api/v3/unfunded-mentors/ecf",
}


def visible_ids(client) -> dict[str, set[str]]:
    """{kind: ids} of every record the client's provider sees (schools aside: the same for all)."""
    ids: dict[str, set[str]] = defaultdict(set)
    for kind, path in LISTS.items():
        response = client.get(path, ALL)
        assert response.status_code == 200, (path, response.content)
        for record in response.json()["data"]:
            ids[kind].add(record["id"])
            attributes = record["attributes"]
            if kind == "participant":
                # Retired ids still find the person (api.md §11): they are the provider's too.
                ids["participant"] |= {c["from_participant_id"] for c in attributes["participant_id_changes"]}
                ids["training_record"] |= {e["training_record_id"] for e in attributes["ecf_enrolments"]}
            if kind == "partnership":
                ids["delivery_partner"].add(attributes["delivery_partner_id"])
                ids["school"].add(attributes["school_id"])
    ids["participant"] |= ids.pop("transfer", set())
    return dict(ids)


def path_kind(path: str) -> str | None:
    """The kind of id an operation's `{id}` takes, from its resource."""
    for marker, kind in (
        ("/participant-declarations/", "declaration"),
        ("/partnerships/", "partnership"),
        ("/statements/", "statement"),
        ("/delivery-partners/", "delivery_partner"),
        ("/unfunded-mentors/", "unfunded_mentor"),
        ("/schools/", "school"),
        ("/participants/", "participant"),
    ):
        if marker in path:
            return kind
    return None
