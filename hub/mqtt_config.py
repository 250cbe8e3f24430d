"""Settings of the hub's MQTT broker connection."""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.configfile import setting


@dataclass
class MqttConfig:
    url: str | None = setting(None, "Broker URL (mqtt://user:pass@host:1883, mqtts:// for TLS). "
                              "Empty: the hub runs an embedded broker.")
    embedded: bool = setting(True, "Run the embedded broker (amqtt) when no url is given; turn "
                             "off when satellites use a broker of their own.")
    embedded_port: int = setting(1883, "Port of the embedded broker.", minimum=1, maximum=65535)
    embedded_host: str | None = setting(None, "Address the embedded broker binds (empty: where "
                                        "the Wyoming endpoint binds; 127.0.0.1 for a unix:// "
                                        "endpoint). It requires the user and password it "
                                        "generates in DATA_DIR/embedded-broker/credentials.")
