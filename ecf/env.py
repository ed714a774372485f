"""Strict readers for environment variables.

Every setting that comes from the environment goes through one of these, so a bad value
stops the service at start with a message naming the variable, instead of surfacing later
as a confusing runtime error.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0/yes/no), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_EMAIL_SCHEMES = {"smtp": (False, False), "smtp+tls": (True, False), "smtps": (False, True)}


def email_settings(name: str, default_backend: str) -> dict:
    """Django's email settings from one URL: `smtp://user:password@host:port` (plain),
    `smtp+tls://…` (STARTTLS) or `smtps://…` (TLS from the start); `console://` prints messages.
    Unset: `default_backend`."""
    from urllib.parse import unquote, urlsplit

    raw = os.environ.get(name, "").strip()
    if not raw:
        return {"EMAIL_BACKEND": default_backend}
    url = urlsplit(raw)
    if url.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if url.scheme not in _EMAIL_SCHEMES or not url.hostname:
        raise ImproperlyConfigured(
            f"{name} must look like smtp://user:password@host:587 (or smtp+tls://, smtps://, console://), got {raw!r}"
        )
    use_tls, use_ssl = _EMAIL_SCHEMES[url.scheme]
    try:
        port = url.port or (465 if use_ssl else 587 if use_tls else 25)
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number: {raw!r}") from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": url.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(url.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(url.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }
