"""Refusals, with the same stable codes as the JavaScript packages."""

from __future__ import annotations


from typing import Any


class TesseraError(Exception):
    """A refusal: `code` is stable (`BAD_SIGNATURE`, `EXPIRED`, ...), the
    message is for people. From the host client, `status` is the HTTP
    status (0 when the host could not be reached) and `details` the
    error's details."""

    def __init__(self, code: str, message: str, status: int = 0, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details: dict[str, Any] = details or {}
