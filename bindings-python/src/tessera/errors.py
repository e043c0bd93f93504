"""Refusals, with the same stable codes as the JavaScript packages."""

from __future__ import annotations


class TesseraError(Exception):
    """A refusal: `code` is stable (`BAD_SIGNATURE`, `EXPIRED`, ...), the
    message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
