from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Scheduled jobs"

    def ready(self):
        from jobs import schedule  # noqa: F401  (registers every job)
