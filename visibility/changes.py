"""The one call a write path makes after changing what providers see, or a column their lists sort
and filter on: `visibility_changed(participant_ids=...)`, in the writer's transaction.

The domain apps call it without knowing who keeps the read model: visibility.services subscribes
at start-up (visibility.apps), so the dependencies keep pointing one way (docs/domain.md). This
module, visibility.models and visibility.selectors import no domain app.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_subscribers: list[Callable] = []
_declaration_subscribers: list[Callable] = []
# While a bulk job defers the refresh (visibility_deferred), the people it changed.
_deferred: ContextVar[set | None] = ContextVar("visibility_deferred", default=None)


def subscribe(refresh: Callable) -> None:
    if refresh not in _subscribers:
        _subscribers.append(refresh)


def subscribe_declarations_added(add: Callable) -> None:
    if add not in _declaration_subscribers:
        _declaration_subscribers.append(add)


def visibility_declarations_added(*, participant_id, declaration_ids: list) -> None:
    """New declarations of one person are all that changed of them (a declaration POST): only the
    declarations' rows are written, not the person's whole read model recomputed, which cost a POST
    eight queries and most of its time (docs/benchmarks.md). Anything else changed: visibility_changed."""
    deferred = _deferred.get()
    if deferred is not None:
        deferred.add(participant_id)
        return
    for add in _declaration_subscribers:
        add(participant_id=participant_id, declaration_ids=declaration_ids)


def visibility_changed(*, participant_ids: Iterable) -> None:
    """These people's records (enrolments, training periods, declarations, the person) changed."""
    deferred = _deferred.get()
    if deferred is not None:
        deferred.update(participant_ids)
        return
    for refresh in _subscribers:
        refresh(participant_ids=participant_ids)


@contextmanager
def visibility_deferred() -> Iterator[None]:
    """Refresh once, on leaving, everyone the block's writes changed, instead of once per write: for a
    bulk job (the sandbox's year of payment runs) that nobody reads until it ends. Not for requests:
    the read model is stale inside the block."""
    if _deferred.get() is not None:  # nested: the outer block refreshes
        yield
        return
    changed: set = set()
    token = _deferred.set(changed)
    try:
        yield
    finally:
        _deferred.reset(token)
    visibility_changed(participant_ids=changed)
