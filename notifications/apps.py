from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The transactional outbox of emails. The lowest app of all: it imports no domain app, and the
    services that make a change write their message here in the same transaction."""

    name = "notifications"
    verbose_name = "Emails"

    def ready(self):
        from ecf.metrics import register_backlog
        from notifications.models import EmailState, OutboxEmail

        register_backlog("emails", lambda: OutboxEmail.objects.filter(state=EmailState.PENDING).count())
