from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The sandbox: the deterministic seed (`seed_sandbox`) and declarative scenarios (`load_scenario`).

    It writes through the domain apps (their models, and services where a rule applies); no domain
    app and no `api/` module imports it."""

    name = "sandbox"
    verbose_name = "Sandbox"
