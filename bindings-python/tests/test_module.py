"""The module inside the package: its ABI version is checked at load, it
is compiled once per process, and with a cache directory a second
process deserializes what the first compiled."""

from __future__ import annotations

from pathlib import Path

import pytest

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
