from django.apps import AppConfig


class VisibilityConfig(AppConfig):
    name = "visibility"
    verbose_name = "What each lead provider sees (read model)"

    def ready(self):
        from visibility.changes import subscribe, subscribe_declarations_added  # noqa: PLC0415
        from visibility.services import visibility_add_declarations, visibility_refresh  # noqa: PLC0415

        subscribe(visibility_refresh)
        subscribe_declarations_added(visibility_add_declarations)
