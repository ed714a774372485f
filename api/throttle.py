"""Counters for callers we do not know yet (client addresses, login names), in a table of fixed size.

A counter per key and window in its own row (as api.ratelimit keeps for tokens) would let anyone add
rows by sending new keys: new addresses, junk login names. Here each key is hashed, with a secret so
nobody can aim at another key's slot, to one of `THROTTLE_SLOTS` slots of its scope; a slot holds
the count of the current window only and is reset in place when a new window starts. The table
never exceeds `THROTTLE_SLOTS` rows per scope, and counting is one UPSERT, so the count is shared by
every worker and every server on the database, like the per-token limit.

The trade-off, accepted: keys that share a slot share a count. That only ever makes a limit
stricter, and with 65,536 slots two given addresses share one with a chance of 1 in 65,536.
"""

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

from api.models import ThrottleSlot

# Each scope owns its own range of slots, so a flood in one can never reset or fill another.
SCOPES = ("client", "login-account", "login-address", "request-log")


@dataclass(frozen=True)
class Window:
    start: datetime
    seconds: int

    @classmethod
    def holding(cls, instant: datetime, seconds: int) -> "Window":
        """The fixed window (aligned to the Unix epoch) that holds `instant`."""
        epoch_seconds = int(instant.timestamp())
        return cls(datetime.fromtimestamp(epoch_seconds - epoch_seconds % seconds, tz=UTC), seconds)

    def seconds_left(self, instant: datetime) -> int:
        return max(1, math.ceil(self.start.timestamp() + self.seconds - instant.timestamp()))


def slot_for(scope: str, key: str) -> int:
    slots = settings.THROTTLE_SLOTS
    secret = hashlib.sha256(("throttle:" + settings.SECRET_KEY).encode()).digest()
    digest = hmac.new(secret, f"{scope}\x00{key}".encode(), hashlib.sha256).digest()
    return SCOPES.index(scope) * slots + int.from_bytes(digest[:8], "big") % slots


def throttle_hit(*, scope: str, key: str, window: Window) -> int:
    """Count one event for `key` in `window`; return the count of its slot in that window so far.

    One statement: a slot from an older window restarts at 1, and a slot already in a newer window
    (another server's clock a second ahead) keeps counting there rather than going back.
    """
    quote = connection.ops.quote_name
    table = quote(ThrottleSlot._meta.db_table)
    fields = ("slot", "window_start", "count")
    slot, start, count = (quote(ThrottleSlot._meta.get_field(name).column) for name in fields)
    newer = f"EXCLUDED.{start} > {table}.{start}"
    sql = (
        f"INSERT INTO {table} ({slot}, {start}, {count}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({slot}) DO UPDATE SET "
        f"{count} = CASE WHEN {newer} THEN 1 ELSE {table}.{count} + 1 END, "
        f"{start} = CASE WHEN {newer} THEN EXCLUDED.{start} ELSE {table}.{start} END "
        f"RETURNING {count}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [slot_for(scope, key), _db_datetime(window.start)])
        return cursor.fetchone()[0]


def throttle_count(*, scope: str, key: str, window: Window) -> int:
    """The count of `key`'s slot in `window`, without counting anything."""
    row = ThrottleSlot.objects.filter(slot=slot_for(scope, key), window_start=window.start).values("count").first()
    return row["count"] if row else 0


def throttle_reset(*, scope: str, key: str) -> None:
    ThrottleSlot.objects.filter(slot=slot_for(scope, key)).update(count=0)


def _db_datetime(value: datetime):
    return ThrottleSlot._meta.get_field("window_start").get_db_prep_value(value, connection)
