"""Release notes, kept as data in api/data/release_notes.json: JSON for machines, a page for people."""

import json
from functools import cache
from pathlib import Path

from django.http import JsonResponse
from django.shortcuts import render

from api.versioning import registry

NOTES_FILE = Path(__file__).parent / "data" / "release_notes.json"
TAGS = ("new-feature", "bug-fix", "breaking-change", "deprecation", "retirement")


@cache
def release_notes() -> list[dict]:
    """Newest first; every note has a date, the versions it concerns, tags, what changed and what to do."""
    notes = json.loads(NOTES_FILE.read_text())
    for note in notes:
        unknown = set(note["tags"]) - set(TAGS)
        if unknown:
            raise ValueError(f"release note {note['title']!r} has unknown tags {sorted(unknown)}")
    return sorted(notes, key=lambda note: note["date"], reverse=True)


def _versions() -> list[dict]:
    return [
        {
            "version": version.name,
            "status": version.status,
            "extended_support": version.extended_support,
            "sunset": version.sunset.isoformat() if version.sunset else None,
        }
        for version in registry().values()
    ]


def release_notes_json(request):
    return JsonResponse({"versions": _versions(), "release_notes": release_notes()})


def release_notes_page(request):
    return render(request, "api/release_notes.html", {"versions": _versions(), "notes": release_notes()})
