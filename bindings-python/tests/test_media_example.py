"""examples/media-fastapi against a real `tessera serve --demo` with the
media library's manifest (org `arcade`): a hidden platform or rom is a
404 on every read path (by id, by hash, in lists, in counts), the
anonymous kiosk visitor only reads, a collection is editable only by its
owner."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tessera.client import Client

APP = Path(__file__).resolve().parents[2] / "examples" / "media-fastapi" / "app.py"


def load_app() -> Any:
    spec = importlib.util.spec_from_file_location("media_fastapi_app", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_media_library_answers_as_its_snapshots_say(media_host) -> None:
    media = load_app()
    app = TestClient(media.create_app(f"{media_host.base}/v1/keys"))
    client = Client(media_host.base, media_host.token)
    snapshot = {who: client.snapshot("arcade", who, text=True) for who in ("val", "ed", "anonymous")}

    def get(who: str, url: str, method: str = "GET") -> tuple[int, Any]:
        response = app.request(method, url, headers={"tessera-snapshot": snapshot[who]})
        return response.status_code, response.json()

    # val: the bios platform and its rom are hidden everywhere.
    assert get("val", "/api/platforms") == (200, [{"id": "n64", "name": "Nintendo 64"}, {"id": "snes", "name": "Super Nintendo"}])
    for url in ("/api/platforms/bios", "/api/roms/pif", "/api/roms/by-hash/0b10", "/api/roms/pif/download"):
        assert get("val", url) == (404, {"error": {"code": "NOT_FOUND", "message": "not found"}}), url
    assert get("val", "/api/platforms/nope") == get("val", "/api/platforms/bios"), "hidden reads as missing"
    assert get("val", "/api/roms") == (200, ["mario64", "zelda"])
    assert get("val", "/api/counts") == (200, {"platforms": 2, "roms": 2})
    assert get("val", "/api/roms/by-hash/5a1c")[0] == 200
    assert get("val", "/api/roms/mario64/download")[0] == 200

    # ed sees all of it.
    assert get("ed", "/api/counts") == (200, {"platforms": 3, "roms": 3})
    assert get("ed", "/api/roms/by-hash/0b10")[1]["id"] == "pif"

    # Collections: only the owner edits one.
    status, body = get("ed", "/api/collections/eds-picks/roms/zelda", "PUT")
    assert (status, body["roms"]) == (200, ["mario64", "zelda"])
    assert get("ed", "/api/collections/favourites/roms/mario64", "PUT")[1]["error"]["code"] == "FORBIDDEN"
    assert get("val", "/api/collections/favourites/roms/mario64", "PUT")[0] == 200
    assert get("val", "/api/collections/favourites/roms/pif", "PUT")[0] == 404

    # The anonymous kiosk visitor reads, and only reads.
    assert get("anonymous", "/api/counts") == (200, {"platforms": 3, "roms": 3})
    assert get("anonymous", "/api/roms/zelda")[0] == 200
    assert get("anonymous", "/api/roms/zelda/download")[0] == 403
    assert get("anonymous", "/api/collections/favourites/roms/zelda", "PUT")[0] == 403
