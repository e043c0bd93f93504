"""The portable policy module (docs/abi.md §11), loaded once per process.

This file only moves bytes and handles across the ABI; every answer comes
from tessera-core inside the module. One instance serves the process,
behind a lock (an instance is single-threaded, docs/abi.md §11.2).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import threading
from pathlib import Path
from typing import Any

import wasmtime

from .errors import TesseraError

#: The ABI version this SDK speaks (docs/abi.md §11.1).
ABI_VERSION = 1

MODULE_PATH = Path(__file__).with_name("tessera_abi.wasm")
#: The reusable input buffer: a query or a check's key, path and owner fit.
SCRATCH_BYTES = 64 * 1024


def _compiled(engine: wasmtime.Engine, path: Path, cache_dir: Path | None) -> wasmtime.Module:
    """The module compiled for this machine: from `cache_dir` when an
    earlier process left it there (wasmtime's serialization, keyed by the
    module's bytes and wasmtime's version), else compiled and left there."""
    wasm = path.read_bytes()
    if cache_dir is None:
        return wasmtime.Module(engine, wasm)
    key = hashlib.sha256(wasm + importlib.metadata.version("wasmtime").encode()).hexdigest()[:32]
    cached = cache_dir / f"tessera_abi-{key}.cwasm"
    if cached.exists():
        try:
            # Read, not mapped: a file replaced under a mapping would crash.
            return wasmtime.Module.deserialize(engine, cached.read_bytes())
        except (wasmtime.WasmtimeError, OSError):
            pass  # stale or damaged: compiled again below
    module = wasmtime.Module(engine, wasm)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(module.serialize())
    partial.replace(cached)
    return module


class Abi:
    """One instance of the module and its exports."""

    def __init__(self, path: Path = MODULE_PATH, cache_dir: Path | None = None) -> None:
        if not path.exists():
            raise TesseraError("INTERNAL", f"{path} is missing: build it with ./scripts/build-abi")
        engine = wasmtime.Engine()
        module = _compiled(engine, path, cache_dir)
        self._store = wasmtime.Store(engine)
        instance = wasmtime.Instance(self._store, module, [])
        exports = instance.exports(self._store)
        self._memory: wasmtime.Memory = exports["memory"]
        self._fn = {name: exports[name] for name in (
            "tessera_abi_version", "tessera_alloc", "tessera_free", "tessera_last_error",
            "tessera_verifier", "tessera_verifier_close", "tessera_open", "tessera_close",
            "tessera_info", "tessera_answer", "tessera_permission", "tessera_permission_close",
            "tessera_check",
        )}
        self.lock = threading.RLock()
        version = self._call("tessera_abi_version")
        if version != ABI_VERSION:
            raise TesseraError("INTERNAL", f"the module speaks ABI {version}, this SDK {ABI_VERSION}")
        # Inputs are borrowed (docs/abi.md §11.2): one buffer, reused by
        # every call whose inputs fit, saves an alloc and a free per input.
        self._scratch = self._call("tessera_alloc", SCRATCH_BYTES)

    def _call(self, name: str, *args: int) -> Any:
        try:
            return self._fn[name](self._store, *args)
        except wasmtime.Trap as trap:
            raise TesseraError("INTERNAL", f"the policy module trapped: {trap}") from None

    def _put(self, data: bytes) -> tuple[int, int]:
        ptr = self._call("tessera_alloc", len(data))
        if data:
            self._memory.write(self._store, data, ptr)
        return ptr, len(data)

    def _release(self, buffer: tuple[int, int]) -> None:
        self._call("tessera_free", *buffer)

    def _take(self, packed: int) -> bytes:
        packed &= 0xFFFF_FFFF_FFFF_FFFF
        ptr, size = packed >> 32, packed & 0xFFFF_FFFF
        data = bytes(self._memory.read(self._store, ptr, ptr + size))
        self._call("tessera_free", ptr, size)
        return data

    def _with_inputs(self, name: str, head: tuple[int, ...], *inputs: bytes) -> Any:
        """Calls `name` with `head`, then each input as (ptr, len): in the
        scratch buffer when they fit, else each in its own buffer."""
        if sum(len(data) for data in inputs) <= SCRATCH_BYTES:
            flat: list[int] = []
            at = self._scratch
            for data in inputs:
                flat += (at, len(data))
                at += len(data)
            joined = b"".join(inputs)
            if joined:
                self._memory.write(self._store, joined, self._scratch)
            return self._call(name, *head, *flat)
        buffers = [self._put(data) for data in inputs]
        try:
            flat = [value for buffer in buffers for value in buffer]
            return self._call(name, *head, *flat)
        finally:
            for buffer in buffers:
                self._release(buffer)

    def _failed(self) -> TesseraError:
        error = json.loads(self._take(self._call("tessera_last_error")))
        if not isinstance(error, dict):
            return TesseraError("INTERNAL", "the policy module failed without an error")
        return TesseraError(error["code"], error["message"])

    def verifier(self, jwks: str) -> int:
        with self.lock:
            handle = self._with_inputs("tessera_verifier", (), jwks.encode())
            if handle == 0:
                raise self._failed()
            return handle

    def open(self, verifier: int, form: int, data: bytes, now: int, org: str, principal: str) -> int:
        with self.lock:
            buffers = [self._put(data), self._put(org.encode()), self._put(principal.encode())]
            try:
                (snap, snap_len), (org_ptr, org_len), (who, who_len) = buffers
                handle = self._call(
                    "tessera_open", verifier, form, snap, snap_len, now, org_ptr, org_len, who, who_len
                )
            finally:
                for buffer in buffers:
                    self._release(buffer)
            if handle == 0:
                raise self._failed()
            return handle

    def info(self, snapshot: int) -> Any:
        with self.lock:
            return _answer(json.loads(self._take(self._call("tessera_info", snapshot))))

    def answer(self, snapshot: int, query: dict[str, Any]) -> Any:
        text = json.dumps(query, separators=(",", ":")).encode()
        with self.lock:
            packed = self._with_inputs("tessera_answer", (snapshot,), text)
            return _answer(json.loads(self._take(packed)))

    def permission(self, snapshot: int, key: str) -> int:
        with self.lock:
            return self._with_inputs("tessera_permission", (snapshot,), key.encode())

    def check(self, snapshot: int, permission: int, key: str, path: str, owner: str) -> int:
        with self.lock:
            return self._with_inputs(
                "tessera_check", (snapshot, permission), key.encode(), path.encode(), owner.encode()
            )

    def close(self, kind: str, handle: int) -> None:
        with self.lock:
            self._call(kind, handle)


def _answer(value: Any) -> Any:
    """An answer, or its refusal raised (docs/abi.md §11.7)."""
    if isinstance(value, dict) and "error" in value:
        raise TesseraError(value["error"]["code"], value["error"]["message"])
    return value


_shared: Abi | None = None
_shared_lock = threading.Lock()
_cache_dir: Path | None = None


def configure(cache_dir: str | os.PathLike[str] | None = None) -> None:
    """Where the process's compiled module is cached between processes
    (default: nowhere, compiled at first use); call before first use."""
    global _cache_dir
    with _shared_lock:
        if _shared is not None:
            raise TesseraError("BAD_ARGUMENT", "configure() comes before the first verifier")
        _cache_dir = Path(cache_dir) if cache_dir is not None else None


def shared() -> Abi:
    """The process's one instance, made on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Abi(cache_dir=_cache_dir)
        return _shared
