"""Error items in tests: every item carries a documented code (issue 16.3), checked here once, so
tests about a message's title and text can compare those two exactly."""

from api.error_codes import CODES


def without_checked_codes(items: list[dict]) -> list[dict]:
    """The items' titles and details, after asserting each has a registered, documented `code`."""
    for item in items:
        assert item.get("code") in CODES, f"error item without a documented code: {item}"
    return [{key: value for key, value in item.items() if key != "code"} for item in items]
