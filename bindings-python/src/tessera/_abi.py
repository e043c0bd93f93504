"""The portable policy module (docs/abi.md §11), loaded once per process.

This file only moves bytes and handles across the ABI; every answer comes
from tessera-core inside the module. One instance serves the process,
behind a lock (an instance is single-threaded, docs/abi.md §11.2).

Calls go through wasmtime's C API (the library the `wasmtime` package
ships) rather than `Func.__call__`, which looks up the function's type and
converts every value on every call: about 18 µs a call, against a check
of about a microsecond in the module. Each export's type is checked once,
against docs/abi.md §11.4, when the module is loaded; after that a call
packs its integers into one reused buffer and calls
`wasmtime_func_call_unchecked`. The memory is reserved whole and never
moves (docs/abi.md §11.2 rule 4 allows a host to arrange that), so bytes
cross by slicing one view of it, without a call into wasmtime.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.metadata
import json
import os
import struct
import sys
import threading
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi  # the C API; the pinned minor version keeps it stable

from .errors import TesseraError

#: The ABI version this SDK speaks (docs/abi.md §11.1).
ABI_VERSION = 1

MODULE_PATH = Path(__file__).with_name("tessera_abi.wasm")
#: The reusable input buffer: a query or a check's key, path and owner fit.
SCRATCH_BYTES = 64 * 1024
#: The fast check's area in the module's memory: its eight raw values
#: (`wasmtime_val_raw_t`, 16 bytes each; the answer comes back in the
#: first, written by wasmtime after the module returned), then the inputs.
#: The trap pointer stays in host memory, out of the module's reach.
_CHECK_VALUES = 8 * 16
_CHECK_HEAD = "<" + "I12x" * 8
#: Packers kept, one per input size seen (a few hundred in practice).
_CHECK_PACKERS = 4096

#: The exports and their types (docs/abi.md §11.4): parameters, then the
#: result; `i` is an i32 (pointers, lengths, handles, codes), `I` an i64
#: (`now`, and answers packed as `ptr << 32 | len`).
SIGNATURES: dict[str, tuple[str, str]] = {
    "tessera_abi_version": ("", "i"),
    "tessera_alloc": ("i", "i"),
    "tessera_free": ("ii", ""),
    "tessera_last_error": ("", "I"),
    "tessera_verifier": ("ii", "i"),
    "tessera_verifier_close": ("i", ""),
    "tessera_open": ("iiiiIiiii", "i"),
    "tessera_close": ("i", ""),
    "tessera_info": ("i", "I"),
    "tessera_answer": ("iii", "I"),
    "tessera_permission": ("iii", "i"),
    "tessera_permission_close": ("i", ""),
    "tessera_check": ("iiiiiiii", "i"),
}
_WASM_TYPES = {"i": "i32", "I": "i64"}
#: A `wasmtime_val_raw_t` is 16 bytes; an i32 or i64 sits at its start,
#: little-endian. Integers cross unsigned (a `-1` answer reads 0xFFFFFFFF).
_RAW = {"i": "I12x", "I": "Q8x"}
_RAW_SIZE = 16
#: A wasm32 memory's whole address space: reserved up front, with
#: `memory_may_move` off, its base never changes.
_MEMORY_RESERVATION = 1 << 32

_HOLDING_GIL = ctypes.PyDLL(ffi.dll._name)
_RELEASING_GIL = ctypes.CDLL(ffi.dll._name)


def _foreign(name: str, hold_gil: bool) -> Any:
    """A C function of the library the `wasmtime` package loaded, taking
    ctypes objects as they are (no `argtypes`: each argument is passed
    without a conversion) and answering a pointer. Holding the GIL saves
    releasing and taking it again, for calls that are short."""
    function = getattr(_HOLDING_GIL if hold_gil else _RELEASING_GIL, name)
    function.restype = ctypes.c_void_p
    return function


_memory_data = _foreign("wasmtime_memory_data", hold_gil=True)
_memory_data_size = _foreign("wasmtime_memory_data_size", hold_gil=True)


def _engine() -> wasmtime.Engine:
    """An engine whose memories never move (see the module's doc)."""
    config = wasmtime.Config()
    config.memory_reservation = _MEMORY_RESERVATION
    config.memory_may_move = False
    return wasmtime.Engine(config)


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


class _Instance:
    """What every export of one instance needs before a call: a store
    that is still open (a finalizer may run after it is freed) and no
    earlier trap (after one the instance is unusable, docs/abi.md §11.9)."""

    def __init__(self, store: wasmtime.Store) -> None:
        self.store = store
        self.trapped: str | None = None
        self._context = ctypes.c_void_p(ctypes.cast(store._context(), ctypes.c_void_p).value)

    def context(self) -> ctypes.c_void_p:
        """The store's context, or INTERNAL when the instance is unusable."""
        if self.trapped:
            raise TesseraError("INTERNAL", f"the policy module is unusable since it trapped ({self.trapped})")
        try:
            self.store._context()
        except ValueError:
            raise TesseraError("INTERNAL", "the policy module's store is closed") from None
        return self._context


class _Export:
    """One export, called without wasmtime-py's per-call conversions."""

    def __init__(self, instance: _Instance, name: str, func: Any) -> None:
        if not isinstance(func, wasmtime.Func):
            raise TesseraError("INTERNAL", f"the policy module does not export the function {name}")
        params, result = SIGNATURES[name]
        ty = func.type(instance.store)
        found = ([str(t) for t in ty.params], [str(t) for t in ty.results])
        wanted = ([_WASM_TYPES[t] for t in params], [_WASM_TYPES[t] for t in result])
        if found != wanted:
            raise TesseraError("INTERNAL", f"the policy module's {name} is {found}, docs/abi.md §11.4 says {wanted}")
        self.name = name
        self._instance = instance
        self._func = func  # keeps the wasmtime_func_t below alive
        # A check is short: the GIL stays held; the rest may take a while.
        self.call = _foreign("wasmtime_func_call_unchecked", hold_gil=name == "tessera_check")
        slots = max(len(params), len(result), 1)
        self.buffer = ctypes.create_string_buffer(slots * _RAW_SIZE)
        self.trap = ctypes.c_void_p()
        #: The call's arguments after the context: the function, the values, their count, the trap.
        self.fixed = (ctypes.byref(func._func), self.buffer, ctypes.c_size_t(slots), ctypes.byref(self.trap))
        self.args = struct.Struct("<" + "".join(_RAW[t] for t in params))
        self.result: Any = None
        if result:
            self.result = (ctypes.c_uint32 if result == "i" else ctypes.c_uint64).from_buffer(self.buffer)

    def __call__(self, context: ctypes.c_void_p, *args: int) -> Any:
        """Calls the export in `context` (from `_Instance.context`)."""
        self.args.pack_into(self.buffer, 0, *args)
        error = self.call(context, *self.fixed)
        if error or self.trap.value:
            raise self.failure(error)
        return self.result.value if self.result is not None else None

    def failure(self, error: int | None) -> TesseraError:
        """A trap (a bug in the module) or an error of wasmtime's, as INTERNAL."""
        if self.trap.value:
            trap = wasmtime.Trap._from_ptr(ctypes.cast(self.trap.value, ctypes.POINTER(ffi.wasm_trap_t)))
            self.trap.value = None
            self._instance.trapped = f"in {self.name}: {trap.message}"
            return TesseraError("INTERNAL", f"the policy module trapped {self._instance.trapped}")
        failure = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error or 0, ctypes.POINTER(ffi.wasmtime_error_t)))
        return TesseraError("INTERNAL", f"the policy module failed in {self.name}: {failure}")


class Abi:
    """One instance of the module and its exports. Every method takes the
    lock, then the context (which refuses an unusable instance) before it
    touches the memory; `check`, the hot path, says why it needs less."""

    def __init__(self, path: Path = MODULE_PATH, cache_dir: Path | None = None) -> None:
        if not path.exists():
            raise TesseraError("INTERNAL", f"{path} is missing: build it with ./scripts/build-abi")
        if sys.byteorder != "little":
            raise TesseraError("INTERNAL", "the SDK reads wasmtime's values as little-endian, this host is not")
        engine = _engine()
        module = _compiled(engine, path, cache_dir)
        store = wasmtime.Store(engine)
        exports = wasmtime.Instance(store, module, []).exports(store)
        named = set(exports)
        missing = sorted(name for name in ("memory", *SIGNATURES) if name not in named)
        if missing:
            raise TesseraError("INTERNAL", f"the policy module does not export {', '.join(missing)} (docs/abi.md §11.4)")
        memory = exports["memory"]
        if not isinstance(memory, wasmtime.Memory):
            raise TesseraError("INTERNAL", "the policy module's `memory` is not a memory")
        self._instance = _Instance(store)
        fn = {name: _Export(self._instance, name, exports[name]) for name in SIGNATURES}
        self._alloc, self._free, self._last_error = fn["tessera_alloc"], fn["tessera_free"], fn["tessera_last_error"]
        self._verifier, self._open, self._info = fn["tessera_verifier"], fn["tessera_open"], fn["tessera_info"]
        self._answer, self._permission, self._check = fn["tessera_answer"], fn["tessera_permission"], fn["tessera_check"]
        self._closers = {name: fn[name] for name in ("tessera_verifier_close", "tessera_close", "tessera_permission_close")}
        self.lock = threading.RLock()
        context = self._instance.context()
        self._memory = memory  # keeps the wasmtime_memory_t below alive
        self._base = self.memory_base()
        self._view = memoryview((ctypes.c_ubyte * _MEMORY_RESERVATION).from_address(self._base)).cast("B")
        version = fn["tessera_abi_version"](context)
        if version != ABI_VERSION:
            raise TesseraError("INTERNAL", f"the module speaks ABI {version}, this SDK {ABI_VERSION}")
        # Inputs are borrowed (docs/abi.md §11.2): one buffer, reused by
        # every call whose inputs fit, saves an alloc and a free per input.
        self._scratch = self._alloc(context, SCRATCH_BYTES)
        self._within(self._scratch, SCRATCH_BYTES)
        # The fast check packs its values and its inputs into one area of
        # the memory with one `pack_into`, 8-aligned as wasmtime's values
        # are (`tessera_alloc` promises no alignment).
        area = self._alloc(context, 8 + _CHECK_VALUES + SCRATCH_BYTES)
        self._within(area, 8 + _CHECK_VALUES + SCRATCH_BYTES)
        self._check_area = area + (-(self._base + area) % 8)
        self._check_key_at = self._check_area + _CHECK_VALUES
        #: The answer, where wasmtime writes it: the first value's low bytes
        #: (little-endian, as every host wasmtime ships for is).
        self._check_answer = ctypes.c_uint32.from_address(self._base + self._check_area)
        self._check_trap = self._check.trap
        #: The call with all its arguments: the values are in the area.
        self._check_enter = functools.partial(
            self._check.call, context, self._check.fixed[0], ctypes.c_void_p(self._base + self._check_area),
            ctypes.c_size_t(8), ctypes.byref(self._check_trap),
        )
        self._check_packers: dict[int, struct.Struct] = {}

    def memory_base(self) -> int:
        """Where the memory starts in this process (fixed: see `_engine`)."""
        return int(_memory_data(self._instance.context(), ctypes.byref(self._memory._memory)) or 0)

    def _within(self, ptr: int, size: int) -> None:
        """Refuses a buffer the module gave that is not inside its memory:
        the view does not check, and a bad address would crash the process."""
        end = int(_memory_data_size(self._instance.context(), ctypes.byref(self._memory._memory)))
        if ptr + size > end:
            raise TesseraError("INTERNAL", f"the policy module gave bytes {ptr}..{ptr + size} of a {end}-byte memory")

    @property
    def trapped(self) -> bool:
        """Whether a trap left this instance unusable."""
        return self._instance.trapped is not None

    # -- bytes across (docs/abi.md §11.2) -----------------------------
    def _put(self, context: Any, data: bytes) -> tuple[int, int]:
        ptr = self._alloc(context, len(data))
        self._within(ptr, len(data))
        self._view[ptr : ptr + len(data)] = data
        return ptr, len(data)

    def _take(self, context: Any, packed: int) -> bytes:
        ptr, size = packed >> 32, packed & 0xFFFF_FFFF
        self._within(ptr, size)
        data = bytes(self._view[ptr : ptr + size])
        self._free(context, ptr, size)
        return data

    def _place(self, context: Any, inputs: tuple[bytes, ...]) -> tuple[list[int], list[tuple[int, int]]]:
        """Each input as (ptr, len), flat: in the scratch buffer when they
        all fit, else each in a buffer of its own, listed second for the
        caller to free after its call."""
        joined = b"".join(inputs)
        if len(joined) > SCRATCH_BYTES:
            owned = [self._put(context, data) for data in inputs]
            return [value for buffer in owned for value in buffer], owned
        self._view[self._scratch : self._scratch + len(joined)] = joined
        flat: list[int] = []
        at = self._scratch
        for data in inputs:
            flat += (at, len(data))
            at += len(data)
        return flat, []

    def _release(self, context: Any, owned: list[tuple[int, int]]) -> None:
        """Frees the buffers `_place` made, unless the call trapped (the
        instance is dropped whole, docs/abi.md §11.9)."""
        if not self._instance.trapped:
            for buffer in owned:
                self._free(context, *buffer)

    def _with_inputs(self, call: _Export, head: tuple[int, ...], *inputs: bytes) -> Any:
        """Calls `call` with `head`, then each input as (ptr, len)."""
        context = self._instance.context()
        flat, owned = self._place(context, inputs)
        try:
            return call(context, *head, *flat)
        finally:
            self._release(context, owned)

    def _failed(self) -> TesseraError:
        context = self._instance.context()
        error = json.loads(self._take(context, self._last_error(context)))
        if not isinstance(error, dict):
            return TesseraError("INTERNAL", "the policy module failed without an error")
        return TesseraError(error["code"], error["message"])

    # -- the calls ------------------------------------------------------
    def verifier(self, jwks: str) -> int:
        with self.lock:
            handle = self._with_inputs(self._verifier, (), jwks.encode())
            if handle == 0:
                raise self._failed()
            return handle

    def open(self, verifier: int, form: int, data: bytes, now: int, org: str, principal: str) -> int:
        with self.lock:
            context = self._instance.context()
            flat, owned = self._place(context, (data, org.encode(), principal.encode()))
            try:
                handle = self._open(context, verifier, form, *flat[:2], now, *flat[2:])
            finally:
                self._release(context, owned)
            if handle == 0:
                raise self._failed()
            return handle

    def info(self, snapshot: int) -> Any:
        with self.lock:
            context = self._instance.context()
            return _answer(json.loads(self._take(context, self._info(context, snapshot))))

    def answer(self, snapshot: int, query: dict[str, Any]) -> Any:
        text = json.dumps(query, separators=(",", ":")).encode()
        with self.lock:
            packed = self._with_inputs(self._answer, (snapshot,), text)
            return _answer(json.loads(self._take(self._instance.context(), packed)))

    def permission(self, snapshot: int, key: str) -> int:
        with self.lock:
            return self._with_inputs(self._permission, (snapshot,), key.encode())

    def check(self, snapshot: int, permission: int, key: bytes, path: bytes, owner: bytes) -> int:
        """The decision code of `tessera_check` (docs/abi.md §11.8): the
        key (empty with a permission handle, which the module reads
        instead), the path and the owner, end to end after the values.
        The hot path, so written flat, with no Python call but the one
        into the module. The store needs no check here: it lives as long
        as this object, and only finalizers, which never check, run after
        that."""
        inputs = key + path + owner if key or owner else path
        size = len(inputs)
        if size > SCRATCH_BYTES:
            with self.lock:
                return self._with_inputs(self._check, (snapshot, permission), key, path, owner)
        packer = self._check_packers.get(size)
        if packer is None:
            if len(self._check_packers) >= _CHECK_PACKERS:
                self._check_packers.clear()
            packer = self._check_packers.setdefault(size, struct.Struct(f"{_CHECK_HEAD}{size}s"))
        key_at = self._check_key_at
        key_size, path_size = len(key), len(path)
        path_at = key_at + key_size
        owner_at = path_at + path_size
        # acquire and release: a `with` costs twice as much here.
        self.lock.acquire()
        try:
            if self._instance.trapped:
                self._instance.context()  # raises: the instance is unusable
            view, area = self._view, self._check_area
            packer.pack_into(view, area, snapshot, permission, key_at, key_size, path_at, path_size, owner_at, len(owner), inputs)
            error = self._check_enter()
            if error or self._check_trap.value:
                raise self._check.failure(error)
            return self._check_answer.value
        finally:
            self.lock.release()

    def close(self, kind: str, handle: int) -> None:
        """Frees a handle; a no-op once the instance trapped (it is
        dropped whole, with every handle it gave, docs/abi.md §11.9)."""
        with self.lock:
            if not self._instance.trapped:
                self._closers[kind](self._instance.context(), handle)


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
    """The process's one instance, made on first use, and again after a
    trap (the handles of the trapped one are refused as INTERNAL)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.trapped:
            _shared = Abi(cache_dir=_cache_dir)
        return _shared
