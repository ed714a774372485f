"""Failed back-office logins are throttled per account and per client address (issue 12.6).

LOGIN_FAILURES_PER_ACCOUNT failed logins for one user name, or LOGIN_FAILURES_PER_ADDRESS from one
address, within a fixed window of LOGIN_THROTTLE_WINDOW_SECONDS lock further attempts, the right
password included, until the window ends. Failures are counted in api.throttle's fixed-size table,
so they are shared by every worker and server, and junk user names add no rows. A successful login
clears its account's count.

Why our own and not django-axes: axes stores a row per attempt and per user name and address
(the unbounded growth issue 12.1 removes elsewhere), needs its own backend, middleware and IP
library configured, and its lockout rules span several settings; this is one form on top of
counters the service already has, about forty lines, and tested in tests/test_login_throttle.py.
"""

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from api.client_address import client_address
from api.throttle import Window, throttle_count, throttle_hit, throttle_reset
from ecf import clock

LOCKED_MESSAGE = "Too many failed logins for this account or from this address. Try again in %(minutes)d minutes."


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        account = (self.cleaned_data.get("username") or "").strip().lower()
        address = client_address(self.request) if self.request is not None else "unknown"
        now = clock.now()
        window = Window.holding(now, settings.LOGIN_THROTTLE_WINDOW_SECONDS)
        if _locked(account, address, window):
            minutes = -(-window.seconds_left(now) // 60)
            raise ValidationError(LOCKED_MESSAGE, code="throttled", params={"minutes": minutes})
        try:
            cleaned = super().clean()
        except ValidationError:
            if account and self.cleaned_data.get("password"):
                throttle_hit(scope="login-account", key=account, window=window)
                throttle_hit(scope="login-address", key=address, window=window)
            raise
        throttle_reset(scope="login-account", key=account)
        return cleaned


def _locked(account: str, address: str, window: Window) -> bool:
    return (
        throttle_count(scope="login-account", key=account, window=window) >= settings.LOGIN_FAILURES_PER_ACCOUNT
        or throttle_count(scope="login-address", key=address, window=window) >= settings.LOGIN_FAILURES_PER_ADDRESS
    )
