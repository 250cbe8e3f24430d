"""What the satellite does on each MQTT command (parsed by satellite/mqtt_commands.py).

Only the satellite's public methods are used: a command does what a caller in the same
process could do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satellite.mqtt_commands import Listen, MqttCommand, Mute, Say, Stop, Volume

if TYPE_CHECKING:
    from satellite.daemon import Satellite


async def obey(satellite: Satellite, command: MqttCommand) -> None:
    match command:
        case Say(text, voice):  # after any conversation in progress: beside the listener
            satellite.tasks.spawn(satellite.announce(text, voice))
        case Listen():
            await satellite.start_conversation(None)
        case Stop():
            await satellite.stop()
        case Mute(muted):
            satellite.set_muted(muted)
        case Volume(level):
            satellite.set_volume(level)
