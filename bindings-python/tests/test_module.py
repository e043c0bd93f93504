"""The module inside the package: its ABI version and its exports' types
are checked at load, a trap is INTERNAL, it is compiled once per
process, and with a cache directory a second process deserializes what
the first compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

import tessera
from tessera import TesseraError, _abi


def test_a_cache_directory_keeps_the_compiled_module(tmp_path: Path) -> None:
    first = _abi.Abi(cache_dir=tmp_path)
    [cached] = list(tmp_path.glob("tessera_abi-*.cwasm"))
    stamp = cached.stat().st_mtime_ns
    second = _abi.Abi(cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == stamp, "the second instance read the cache"
    assert first.answer is not None and second.answer is not None
    damaged = tmp_path / "damaged"
    damaged.write_bytes(b"damaged")
    damaged.replace(cached)
    _abi.Abi(cache_dir=tmp_path)
    assert cached.read_bytes() != b"damaged", "a damaged cache is compiled again"


def test_the_process_shares_one_instance() -> None:
    assert _abi.shared() is _abi.shared()
    with pytest.raises(TesseraError) as late:
        tessera.configure(cache_dir="/tmp/too-late")
    assert late.value.code == "BAD_ARGUMENT"


def test_a_missing_module_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "none.wasm"
    with pytest.raises(TesseraError) as refused:
        _abi.Abi(path=missing)
    assert refused.value.code == "INTERNAL"


def fake(tmp_path: Path, drop: str = "", **bodies: str) -> Path:
    """A module with every export of docs/abi.md §11.4 (their types from
    the SDK's table), each answering 0 and the version 1, except `drop`
    and what `bodies` replaces (a signature and body in WAT)."""
    funcs = []
    for name, (params, result) in _abi.SIGNATURES.items():
        if name == drop:
            continue
        wasm = {"i": "i32", "I": "i64"}
        signature = " ".join(f"(param {wasm[t]})" for t in params) + (f" (result {wasm[result]})" if result else "")
        body = f"({wasm[result]}.const {1 if name == 'tessera_abi_version' else 0})" if result else ""
        funcs.append(f'(func (export "{name}") {bodies.get(name, signature + " " + body)})')
    path = tmp_path / "fake.wasm"
    path.write_bytes(wasmtime.wat2wasm(f'(module (memory (export "memory") 2) {" ".join(funcs)})'))
    return path


def refused_module(path: Path) -> str:
    with pytest.raises(TesseraError) as refused:
        _abi.Abi(path=path)
    assert refused.value.code == "INTERNAL"
    return refused.value.message


def test_a_module_that_breaks_the_abi_is_refused_at_load(tmp_path: Path) -> None:
    _abi.Abi(path=fake(tmp_path))  # the fake itself loads
    assert "tessera_check" in refused_module(fake(tmp_path, drop="tessera_check"))
    wrong = refused_module(fake(tmp_path, tessera_check="(param i32) (result i32) (i32.const 0)"))
    assert "tessera_check" in wrong and "docs/abi.md §11.4" in wrong
    assert "ABI 2" in refused_module(fake(tmp_path, tessera_abi_version="(result i32) (i32.const 2)"))


def test_a_trap_in_the_module_is_internal_not_a_crash(tmp_path: Path) -> None:
    message = refused_module(fake(tmp_path, tessera_abi_version="(result i32) unreachable"))
    assert "trapped in tessera_abi_version" in message


def test_after_a_trap_the_instance_is_refused_and_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _abi.Abi(path=fake(tmp_path, tessera_info="(param i32) (result i64) unreachable"))
    with pytest.raises(TesseraError) as trapped:
        broken.info(1)
    assert (trapped.value.code, broken.trapped) == ("INTERNAL", True)
    with pytest.raises(TesseraError) as after:
        broken.permission(1, "miner:read")
    assert after.value.code == "INTERNAL" and "unusable" in after.value.message
    monkeypatch.setattr(_abi, "_shared", broken)
    assert _abi.shared() is not broken and not _abi.shared().trapped


def test_a_trap_in_the_fast_check_is_internal(tmp_path: Path) -> None:
    broken = _abi.Abi(path=fake(tmp_path, tessera_check="(param i32 i32 i32 i32 i32 i32 i32 i32) (result i32) unreachable"))
    with pytest.raises(TesseraError) as trapped:
        broken.check(1, 0, b"miner:read", b"site:1", b"")
    assert trapped.value.code == "INTERNAL" and "trapped in tessera_check" in trapped.value.message
    with pytest.raises(TesseraError) as after:
        broken.check(1, 0, b"miner:read", b"site:1", b"")
    assert "unusable" in after.value.message
    broken.close("tessera_close", 1)  # a no-op: the instance is dropped whole


def test_a_buffer_outside_the_memory_is_refused(tmp_path: Path) -> None:
    wild = "(param i32) (result i32) (i32.const 0x7fff0000)"
    assert "memory" in refused_module(fake(tmp_path, tessera_alloc=wild))


def test_the_memory_does_not_move_as_it_grows() -> None:
    """The SDK keeps one view of the memory (docs/abi.md §11.2 rule 4)."""
    abi = _abi.Abi()
    base = abi.memory_base()
    with abi.lock:
        context = abi._instance.context()
        big = abi._put(context, bytes(64 << 20))
        abi._free(context, *big)
    assert abi.memory_base() == base
