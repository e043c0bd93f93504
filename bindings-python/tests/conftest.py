"""Real `tessera serve --demo` hosts (target/debug/tessera: the fleet
example with its demo org `acme`, the media library with `arcade`), each
on a free port of 127.0.0.1 and a temporary SQLite data directory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "debug" / "tessera"


class Host:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token


def _serve(manifest: str) -> Iterator[Host]:
    """`tessera serve --demo` with `manifest`, until the session ends."""
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: cargo build -p tessera-host --bin tessera")
    data = tempfile.mkdtemp(prefix="tessera-python-")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TESSERA_") and key != "DATABASE_URL"}
    env.update(TESSERA_DATA_DIR=data, TESSERA_LISTEN="127.0.0.1:0", TESSERA_MANIFEST=str(ROOT / manifest))
    # Its log goes to a file: an unread pipe would stall it once full.
    log = open(Path(data) / "serve.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([str(BINARY), "serve", "--demo"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        out = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            if not line:
                break
            out += line
            address = re.search(r"^tessera listening on (http://\S+)$", out, re.M)
            token = re.search(r"^bootstrap token: (\S+)$", out, re.M)
            if address and token:
                yield Host(address.group(1), token.group(1))
                return
        pytest.fail(f"tessera serve printed no address: {out}{(Path(data) / 'serve.log').read_text()}")
    finally:
        process.kill()
        process.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def host() -> Iterator[Host]:
    """The fleet example's host, with its demo org `acme`."""
    yield from _serve("examples/fleet/manifest.toml")


@pytest.fixture(scope="session")
def media_host() -> Iterator[Host]:
    """The media library's host, with its demo org `arcade`."""
    yield from _serve("examples/media/manifest.toml")
