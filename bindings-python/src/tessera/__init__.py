"""Tessera for Python backends: verify a signed permission snapshot
offline and ask it, with the same resolver as every other runtime (the
portable policy module, docs/abi.md §11)."""

from ._abi import configure
from .errors import TesseraError
from .snapshot import Decision, Permission, Snapshot, Verifier

__all__ = ["Decision", "Permission", "Snapshot", "TesseraError", "Verifier", "configure"]
