"""Domain errors, raised by services in the contract's own words.

They carry no HTTP knowledge; `api.errors.exception_handler` turns them into the contract's
error bodies, and the admin shows them as messages.
"""


class ServiceValidationError(Exception):
    """One or more attributes failed validation: [(attribute, message), ...] in validation order."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{title}: {detail}" for title, detail in errors))
        self.errors = errors


class InvalidAction(Exception):
    """A state transition the rules forbid (rendered with the title "Invalid action")."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
