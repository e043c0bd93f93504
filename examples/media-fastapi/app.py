"""A media library's API, shaped like RomM (platforms holding roms,
collections owned by users), guarded by Tessera in FastAPI.

The caller sends its signed snapshot (from the host, through the app's
own login) in the `tessera-snapshot` header or the `tessera` cookie;
`tessera.gate.Gate` verifies it against the host's `/v1/keys` and binds
it to the org `arcade` (examples/media/demo.json). Every rule is the
snapshot's:

- a platform or rom hidden from the caller is a 404 on every read path:
  by id, by hash, in lists and in counts, exactly as if it did not exist;
- the anonymous visitor browses (kiosk mode leaves it the `read` keys
  only: no download, no write);
- a collection is editable only by its owner (an owner-only grant).

Run against `tessera serve --demo --manifest examples/media/manifest.toml`:

    TESSERA_KEYS_URL=http://127.0.0.1:7700/v1/keys uvicorn --factory app:from_env   (from this directory)
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import Depends, FastAPI

from tessera import Snapshot
from tessera.fastapi import install, require_snapshot
from tessera.gate import Gate, Refusal

ORG = "arcade"

PLATFORMS = {"bios": "BIOS files", "n64": "Nintendo 64", "snes": "Super Nintendo"}
ROMS = {
    "mario64": {"platform": "n64", "name": "Super Mario 64", "hash": "5a1c"},
    "zelda": {"platform": "snes", "name": "A Link to the Past", "hash": "77e0"},
    "pif": {"platform": "bios", "name": "PIF boot ROM", "hash": "0b10"},
}
COLLECTIONS = {
    "favourites": {"owner": "val", "roms": ["zelda"]},
    "eds-picks": {"owner": "ed", "roms": ["mario64"]},
}


def platform_path(platform: str) -> list[str]:
    return [f"platform:{platform}"]


def rom_path(rom: str) -> list[str]:
    return [f"platform:{ROMS[rom]['platform']}", f"rom:{rom}"]


def need(snapshot: Snapshot, permission: str, path: list[str], owner: str | None = None) -> None:
    """Lets the request on iff allowed: 404 when hidden, 403 when denied."""
    Gate.require(snapshot, permission, None, lambda _: path, lambda _: owner)


def missing() -> Refusal:
    """What does not exist is answered exactly as what is hidden."""
    return Refusal(404, "NOT_FOUND", "not found")


def create_app(keys_url: str) -> FastAPI:
    gate = Gate(keys_url=keys_url, cookie="tessera")
    app = FastAPI(title="media library")
    install(app)
    caller = require_snapshot(gate, org=lambda _: ORG)

    def visible_roms(snapshot: Snapshot, ids: list[str] | None = None) -> list[str]:
        asked = list(ROMS) if ids is None else ids
        return snapshot.filter("rom:read", asked, rom_path)

    @app.get("/api/platforms")
    def platforms(snapshot: Snapshot = Depends(caller)) -> list[dict[str, str]]:
        shown = snapshot.filter("platform:read", list(PLATFORMS), platform_path)
        return [{"id": p, "name": PLATFORMS[p]} for p in shown]

    @app.get("/api/platforms/{platform}")
    def platform(platform: str, snapshot: Snapshot = Depends(caller)) -> dict[str, Any]:
        if platform not in PLATFORMS:
            raise missing()
        need(snapshot, "platform:read", platform_path(platform))
        roms = [r for r in visible_roms(snapshot) if ROMS[r]["platform"] == platform]
        return {"id": platform, "name": PLATFORMS[platform], "roms": roms}

    @app.get("/api/roms")
    def roms(snapshot: Snapshot = Depends(caller)) -> list[str]:
        return visible_roms(snapshot)

    @app.get("/api/roms/by-hash/{digest}")
    def rom_by_hash(digest: str, snapshot: Snapshot = Depends(caller)) -> dict[str, Any]:
        found = next((r for r, rom in ROMS.items() if rom["hash"] == digest), None)
        if found is None:
            raise missing()
        need(snapshot, "rom:read", rom_path(found))
        return {"id": found, **ROMS[found]}

    @app.get("/api/roms/{rom}")
    def rom(rom: str, snapshot: Snapshot = Depends(caller)) -> dict[str, Any]:
        if rom not in ROMS:
            raise missing()
        need(snapshot, "rom:read", rom_path(rom))
        return {"id": rom, **ROMS[rom]}

    @app.get("/api/roms/{rom}/download")
    def download(rom: str, snapshot: Snapshot = Depends(caller)) -> dict[str, str]:
        if rom not in ROMS:
            raise missing()
        need(snapshot, "rom:read", rom_path(rom))
        need(snapshot, "rom:download", rom_path(rom))
        return {"id": rom, "url": f"/files/{ROMS[rom]['hash']}"}

    @app.get("/api/counts")
    def counts(snapshot: Snapshot = Depends(caller)) -> dict[str, int]:
        return {
            "platforms": len(snapshot.filter("platform:read", list(PLATFORMS), platform_path)),
            "roms": len(visible_roms(snapshot)),
        }

    @app.get("/api/collections")
    def collections(snapshot: Snapshot = Depends(caller)) -> list[dict[str, Any]]:
        shown = snapshot.filter("collection:read", list(COLLECTIONS), lambda c: [f"collection:{c}"])
        return [{"id": c, "owner": COLLECTIONS[c]["owner"], "roms": visible_roms(snapshot, COLLECTIONS[c]["roms"])} for c in shown]

    @app.put("/api/collections/{collection}/roms/{rom}")
    def add_to_collection(collection: str, rom: str, snapshot: Snapshot = Depends(caller)) -> dict[str, Any]:
        if collection not in COLLECTIONS or rom not in ROMS:
            raise missing()
        owner = COLLECTIONS[collection]["owner"]
        need(snapshot, "collection:write", [f"collection:{collection}"], owner)
        need(snapshot, "rom:read", rom_path(rom))
        roms = COLLECTIONS[collection]["roms"]
        if rom not in roms:
            roms.append(rom)
        return {"id": collection, "owner": owner, "roms": visible_roms(snapshot, roms)}

    return app


def from_env() -> FastAPI:
    """The app for `uvicorn --factory app:from_env`, with the host's keys
    at `TESSERA_KEYS_URL`."""
    keys_url = os.environ.get("TESSERA_KEYS_URL")
    if not keys_url:
        raise SystemExit("set TESSERA_KEYS_URL to the host's /v1/keys")
    return create_app(keys_url)
