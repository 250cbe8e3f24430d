"""The `home_assistant` settings: where Home Assistant is and how the hub authenticates."""

from __future__ import annotations

import pytest

from hub.intents.home_assistant import HomeAssistantHomeSource
from hub.intents.home_assistant_config import SUPERVISOR_URL, HomeAssistantConfig, websocket_url
from tests.plugins.homeassistant import TOKEN
from voxhub.configfile import ConfigError, from_mapping


@pytest.mark.parametrize(("given", "expected"), [
    ("http://homeassistant.local:8123", "ws://homeassistant.local:8123/api/websocket"),
    ("https://ha.example.org/", "wss://ha.example.org/api/websocket"),
    ("ws://10.0.0.2:8123/api/websocket", "ws://10.0.0.2:8123/api/websocket"),
    (SUPERVISOR_URL, "ws://supervisor/core/websocket"),
])
def test_any_form_of_the_address_becomes_the_websocket_url(given, expected):
    assert websocket_url(given) == expected


def test_a_bad_address_names_the_key():
    with pytest.raises(ConfigError, match=r"home_assistant\.url.*not an http"):
        websocket_url("homeassistant.local:8123")


def test_add_on_needs_no_settings(monkeypatch):
    monkeypatch.setenv("SUPERVISOR_TOKEN", "supervisor-secret")
    config = HomeAssistantConfig()
    assert config.enabled
    assert config.websocket_url() == "ws://supervisor/core/websocket"
    assert config.resolve_token() == "supervisor-secret"


def test_outside_an_add_on_it_is_off_until_given_a_url(monkeypatch):
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    assert not HomeAssistantConfig().enabled
    config = from_mapping(HomeAssistantConfig, {"url": "http://ha:8123"}, "hub.yaml",
                          "home_assistant.")
    assert config.enabled
    with pytest.raises(ConfigError, match="long-lived access token"):
        config.resolve_token()


def test_token_file_keeps_the_secret_out_of_the_config(tmp_path, monkeypatch):
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    secret = tmp_path / "ha-token"
    secret.write_text(f"{TOKEN}\n")
    config = from_mapping(HomeAssistantConfig, {"url": "http://ha:8123",
                                                "token_file": str(secret)})
    assert config.resolve_token() == TOKEN
    secret.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        config.resolve_token()
    with pytest.raises(ConfigError, match="cannot read"):
        from_mapping(HomeAssistantConfig, {"url": "http://ha:8123",
                                           "token_file": str(tmp_path / "missing")}
                     ).resolve_token()


def test_unknown_setting_is_refused_with_the_file_and_key():
    with pytest.raises(ConfigError, match=r"hub\.yaml: home_assistant\.tokn.*did you mean"):
        from_mapping(HomeAssistantConfig, {"tokn": "x"}, "hub.yaml", "home_assistant.")


async def test_source_built_from_config_connects(home_assistant, monkeypatch):
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    config = from_mapping(HomeAssistantConfig, {"url": home_assistant.http_url, "token": TOKEN})
    source = HomeAssistantHomeSource.from_config(config)
    try:
        await source.start(wait_s=5)
        assert source.connected and len(source.current().entities) == 4
    finally:
        await source.stop()
