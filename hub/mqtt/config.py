"""Settings of the hub's MQTT side: the broker it uses or embeds, and what it publishes."""

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
    publish: bool = setting(True, "Publish the results of the requests the hub serves itself "
                            "(Home Assistant's STT and conversation calls, any Wyoming client): "
                            "TOPIC_PREFIX/hub/transcript, /intent (the whole result, JSON), "
                            "/reply, and a retained /availability. voxhub satellites publish "
                            "their own runs under their own topics. Needs mqtt.url or the "
                            "embedded broker.")
    topic_prefix: str = setting("voxhub", "Topics are <prefix>/hub/… (the satellites' prefix).")
    outbox_max: int = setting(1000, "Results kept on disk (DATA_DIR/mqtt-outbox) while the "
                              "broker is unreachable (the oldest go first beyond this).",
                              minimum=1)
