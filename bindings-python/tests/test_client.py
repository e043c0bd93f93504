"""The host client against a real `tessera serve --demo` (the fleet demo
org `acme`): decisions, a snapshot verified offline with the host's keys,
model writes, the host's error codes, and UNAVAILABLE; and its asyncio
twin."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from tessera import TesseraError, Verifier
from tessera.client import AsyncClient, Client

MINER_11 = ["site:1", "rack:1", "miner:11"]
MINER_21 = ["site:2", "rack:2", "miner:21"]


def test_decisions_answer_as_the_demo_org_says(host) -> None:
    client = Client(host.base, host.token)
    assert client.health()["status"] == "ok"
    assert client.check("acme", "carol", "miner:blink_led", MINER_11)["decision"] == "allow"
    assert client.check("acme", "carol", "miner:reboot", ["site:1"])["decision"] == "deny"
    assert client.check("acme", "vic", "miner:read", MINER_21)["decision"] == "not_found"
    batch = client.check_batch("acme", "carol", [{"permission": "miner:blink_led", "path": MINER_11}, {"permission": "miner:reboot", "path": MINER_11}])
    assert [d["decision"] for d in batch["decisions"]] == ["allow", "deny"]
    assert client.guard("acme", "carol", "/settings/users")["decision"] == "redirect"
    assert "/miners" in client.nav("acme", "carol")["nav"]
    assert client.can_anywhere("acme", "carol", "miner:blink_led")["allowed"] is True
    assert "miner:blink_led" in client.effective("acme", "carol", MINER_11)["permissions"]
    assert client.explain("acme", "carol", "miner:blink_led", MINER_11)["decision"] == "allow"
    assert client.filter("acme", "carol", "miner:read")["plan"]["permission"] == "miner:read"


def test_a_snapshot_from_the_host_verifies_offline(host) -> None:
    client = Client(host.base, host.token)
    verifier = Verifier.from_jwks(client.keys())
    text = client.snapshot("acme", "carol", text=True)
    snapshot = verifier.open(text, org="acme", principal="carol")
    assert snapshot.check("miner:blink_led", MINER_11) == "allow"
    assert snapshot.check("miner:reboot", MINER_11) == "deny"
    binary = verifier.open(client.snapshot("acme", "vic"), org="acme")
    assert binary.check("miner:read", MINER_21) == "not_found"
    with pytest.raises(TesseraError) as refused:
        verifier.open(text, org="acme", principal="vic")
    assert refused.value.code == "WRONG_PRINCIPAL"


def test_writes_and_the_hosts_error_codes(host) -> None:
    client = Client(host.base, host.token)
    client.put_node("acme", "site:9")
    assigned = client.create_assignment("acme", "user:carol", "FIELD_TECH", scope="site:9")
    assert client.check("acme", "carol", "miner:blink_led", ["site:9"])["decision"] == "allow"
    client.delete_assignment("acme", assigned["id"])
    assert client.check("acme", "carol", "miner:blink_led", ["site:9"])["decision"] == "deny"
    with pytest.raises(TesseraError) as missing:
        client.create_assignment("acme", "user:nobody", "FIELD_TECH")
    assert (missing.value.code, missing.value.status) == ("NOT_FOUND", 404)
    with pytest.raises(TesseraError) as escalation:
        client.with_actor("carol").create_assignment("acme", "user:vic", "ADMIN")
    assert escalation.value.code in ("FORBIDDEN", "ESCALATION_DENIED")
    assert escalation.value.status == 403
    with pytest.raises(TesseraError) as bad:
        Client(host.base, "not-a-token").nav("acme", "carol")
    assert (bad.value.code, bad.value.status) == ("UNAUTHENTICATED", 401)
    document = client.export_org("acme")
    plan = client.apply_org("acme", document)
    assert (plan["plan"], plan["applied"]) == ([], False)


def test_an_unreachable_host_is_unavailable() -> None:
    with pytest.raises(TesseraError) as refused:
        Client("http://127.0.0.1:9", "token", timeout=2).health()
    assert (refused.value.code, refused.value.status) == ("UNAVAILABLE", 0)
    with pytest.raises(TesseraError) as bad:
        Client("ftp://host", "token")
    assert bad.value.code == "BAD_ARGUMENT"


def _public(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if callable(value) and not name.startswith("_")}


def test_the_async_client_has_every_method_of_the_sync_one() -> None:
    assert _public(AsyncClient) == _public(Client)
    for name in _public(Client) - {"with_actor"}:
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name


def test_the_async_client_answers_concurrently_with_the_hosts_codes(host) -> None:
    async def run() -> None:
        client = AsyncClient(host.base, host.token)
        decisions = await asyncio.gather(
            client.check("acme", "carol", "miner:blink_led", MINER_11),
            client.check("acme", "carol", "miner:reboot", MINER_11),
            client.check("acme", "vic", "miner:read", MINER_21),
        )
        assert [d["decision"] for d in decisions] == ["allow", "deny", "not_found"]
        verifier = Verifier.from_jwks(await client.keys())
        snapshot = verifier.open(await client.snapshot("acme", "carol"), org="acme", principal="carol")
        assert snapshot.check("miner:blink_led", MINER_11) == "allow"
        with pytest.raises(TesseraError) as escalation:
            await client.with_actor("carol").create_assignment("acme", "user:vic", "ADMIN")
        assert escalation.value.status == 403
        with pytest.raises(TesseraError) as refused:
            await AsyncClient("http://127.0.0.1:9", "token", timeout=2).health()
        assert refused.value.code == "UNAVAILABLE"

    asyncio.run(run())
