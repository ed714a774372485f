"""The one call a write path makes after changing what providers see, or a column their lists sort
and filter on: `visibility_changed(participant_ids=...)`, in the writer's transaction.

The domain apps call it without knowing who keeps the read model: visibility.services subscribes
at start-up (visibility.apps), so the dependencies keep pointing one way (docs/domain.md). This
module, visibility.models and visibility.selectors import no domain app.
"""

from collections.abc import Callable, Iterable

_subscribers: list[Callable] = []


def subscribe(refresh: Callable) -> None:
    if refresh not in _subscribers:
        _subscribers.append(refresh)


def visibility_changed(*, participant_ids: Iterable) -> None:
    """These people's records (enrolments, training periods, declarations, the person) changed."""
    for refresh in _subscribers:
        refresh(participant_ids=participant_ids)
