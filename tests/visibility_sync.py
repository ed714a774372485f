"""Keeps the read model of visibility in step with writes made outside the services (factories,
`.save()` in tests): see the `visibility_follows_test_writes` fixture in tests/conftest.py."""

from contextlib import contextmanager

from django.db.models.signals import post_delete, post_save

from declarations.models import Declaration
from participants.models import Enrolment, Participant, Partnership, TrainingPeriod
from visibility.services import visibility_refresh

_following = {"on": False}


def _people(instance) -> list:
    if isinstance(instance, Participant):
        return [instance.pk]
    if isinstance(instance, Enrolment | Declaration):
        return [instance.participant_id]
    if isinstance(instance, TrainingPeriod):
        return list(Enrolment.objects.filter(pk=instance.enrolment_id).values_list("participant_id", flat=True))
    if isinstance(instance, Partnership):
        periods = TrainingPeriod.objects.filter(partnership_id=instance.pk)
        return list(periods.values_list("enrolment__participant_id", flat=True))
    return []


def _refresh(sender, instance, **kwargs):
    if _following["on"]:
        visibility_refresh(participant_ids=_people(instance))


SENDERS = (Participant, Enrolment, TrainingPeriod, Partnership, Declaration)


def _receivers(connect: bool) -> None:
    for sender in SENDERS:
        for signal, uid in (
            (post_save, f"visibility-{sender.__name__}"),
            (post_delete, f"visibility-del-{sender.__name__}"),
        ):
            if connect:
                signal.connect(_refresh, sender=sender, dispatch_uid=uid)
            else:
                signal.disconnect(sender=sender, dispatch_uid=uid)


@contextmanager
def follow_saves(on: bool = True):
    """While on, every save or deletion of a record visibility derives from refreshes its people."""
    _receivers(connect=True)
    before, _following["on"] = _following["on"], on
    try:
        yield
    finally:
        _following["on"] = before


@contextmanager
def services_only():
    """Inside, only the services' own calls keep the read model (the test writes are not followed)."""
    before, _following["on"] = _following["on"], False
    try:
        yield
    finally:
        _following["on"] = before


@contextmanager
def receivers_disconnected():
    """Inside, no test receiver listens to saves, so code that takes a faster path for models without
    save signals (ecf.compiled_query.insert_new) takes it as in production."""
    _receivers(connect=False)
    try:
        yield
    finally:
        _receivers(connect=True)
