"""Opt-in authentication: the `auth` handshake, require_auth, unsafe intents, TLS, secrets."""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import sys

import pytest
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.intent import Recognize
from wyoming.ping import Ping

from hub.auth import AUTH, AUTH_OK, REFUSED_REPLY, UNAUTHORIZED, Authenticator
from hub.intents.program import IntentProgram
from hub.redact import install
from satellite import hub_auth
from tests.plugins.hub import ROOT, ThreadedHub

TOKEN = "s3cret-token-for-tests"


async def _next(client: AsyncClient, timeout: float = 20.0) -> Event | None:
    return await asyncio.wait_for(client.read_event(), timeout)


async def _answer(client: AsyncClient, event: Event) -> Event | None:
    await client.write_event(event)
    return await _next(client)


def _hub(understander, **policy) -> ThreadedHub:
    return ThreadedHub([IntentProgram(understander)], auth=Authenticator(TOKEN, **policy))


async def test_the_right_token_is_answered_with_a_proof_the_satellite_accepts(
        pipeline_understander) -> None:
    hub = _hub(pipeline_understander)
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            answer = await _answer(client, hub_auth.auth_event(TOKEN, "nonce-1"))
            assert answer is not None and answer.type == AUTH_OK
            assert hub_auth.proof_ok(TOKEN, "nonce-1", answer.data["proof"])
            assert not hub_auth.proof_ok(TOKEN, "nonce-2", answer.data["proof"])
    finally:
        hub.close()


async def test_a_wrong_token_gets_unauthorized_and_the_connection_closes(
        pipeline_understander, caplog) -> None:
    hub = _hub(pipeline_understander)
    caplog.set_level(logging.DEBUG)
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            answer = await _answer(client, Event(AUTH, {"token": "wrong-guess-123"}))
            assert answer is not None and answer.type == "error"
            assert answer.data["code"] == UNAUTHORIZED
            assert await _next(client) is None
        assert "wrong-guess-123" not in caplog.text and TOKEN not in caplog.text
    finally:
        hub.close()


async def test_require_auth_serves_only_describe_and_ping_before_auth(
        pipeline_understander) -> None:
    hub = _hub(pipeline_understander, require=True)
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            assert (await _answer(client, Describe().event())).type == "info"
            assert (await _answer(client, Ping(text="x").event())).type == "pong"
            refused = await _answer(client, Recognize(text="turn on the kitchen lights").event())
            assert refused.type == "error" and refused.data["code"] == "auth-required"
            assert await _next(client) is None
        async with AsyncClient.from_uri(hub.uri) as client:
            assert (await _answer(client, hub_auth.auth_event(TOKEN, "n"))).type == AUTH_OK
            answer = await _answer(client, Recognize(text="turn on the kitchen lights").event())
            assert answer.type == "intent"
    finally:
        hub.close()


@pytest.mark.parametrize("text", ["is the back door locked", "unlock the front door",
                                  "open the garage door"])
async def test_unsafe_intents_and_their_state_are_refused_without_auth(
        pipeline_understander, text) -> None:
    hub = _hub(pipeline_understander)
    lenient = _hub(pipeline_understander, allow_unsafe=True)
    try:
        async with AsyncClient.from_uri(hub.uri) as stranger:
            answer = await _answer(stranger, Recognize(text=text).event())
            assert answer.type == "not-recognized" and answer.data["text"] == REFUSED_REPLY
            assert "unlocked" not in str(answer.data) and "lock." not in str(answer.data)
        async with AsyncClient.from_uri(hub.uri) as satellite:
            assert (await _answer(satellite, hub_auth.auth_event(TOKEN, "n"))).type == AUTH_OK
            assert (await _answer(satellite, Recognize(text=text).event())).type == "intent"
        async with AsyncClient.from_uri(lenient.uri) as home_assistant:
            answer = await _answer(home_assistant, Recognize(text=text).event())
            assert answer.type == "intent"
        async with AsyncClient.from_uri(hub.uri) as stranger:  # safe commands still work
            answer = await _answer(stranger, Recognize(text="turn on the kitchen lights")
                                   .event())
            assert answer.type == "intent"
    finally:
        hub.close()
        lenient.close()


async def test_without_a_token_every_client_is_served_and_auth_is_accepted(
        pipeline_understander) -> None:
    hub = ThreadedHub([IntentProgram(pipeline_understander)])
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            answer = await _answer(client, Recognize(text="is the back door locked").event())
            assert answer.type == "intent"
            assert (await _answer(client, hub_auth.auth_event("any", "n"))).type == AUTH_OK
    finally:
        hub.close()


def _self_signed(folder) -> tuple[str, str]:
    cert, key = folder / "hub.pem", folder / "hub.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


async def test_tcps_serves_a_client_that_trusts_the_certificate(tmp_path,
                                                                pipeline_understander) -> None:
    cert, key = _self_signed(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    hub = ThreadedHub([IntentProgram(pipeline_understander)], tls=server)
    assert hub.uri.startswith("tcps://")
    host, port = hub.uri.removeprefix("tcps://").split(":")
    try:
        # A plain client on the TLS port gets nothing, and the hub keeps serving.
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b'{"type": "describe"}\n')
        assert await asyncio.wait_for(reader.read(100), 15) == b""
        writer.close()
        context = ssl.create_default_context(cafile=cert)
        reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
        writer.write(b'{"type": "describe"}\n')
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 15)
        assert b'"info"' in line
        writer.close()
    finally:
        hub.close()


def test_print_config_masks_the_token_and_the_token_file_is_read(tmp_path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    config = tmp_path / "hub.yaml"
    config.write_text(f"server:\n  token: {TOKEN}\nmqtt:\n  url: mqtt://u:pw-xyz-1@b:1883\n")
    out = subprocess.run([sys.executable, "-m", "voxhub.cli", "hub", "--config", str(config),
                          "--print-config"], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert TOKEN not in out and "token: '***'" in out and "pw-xyz-1" not in out
    from hub.config import ServerConfig

    assert ServerConfig(token_file=token_file).resolve_token() == TOKEN


def test_secrets_are_masked_in_library_loggers_at_every_level(caplog) -> None:
    install([TOKEN])
    caplog.set_level(logging.DEBUG)
    handler = logging.getLogger().handlers[0]
    for name in ("websockets.client", "httpx", "httpcore.http11"):
        record = logging.getLogger(name).makeRecord(
            name, logging.DEBUG, __file__, 1, "> TEXT %s", (
                f'{{"type": "auth", "access_token": "{TOKEN}"}} Authorization: Bearer abcdef',),
            None)
        handler.filter(record)
        assert TOKEN not in record.getMessage() and "abcdef" not in record.getMessage()
