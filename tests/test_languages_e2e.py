"""A Spanish and a French home, end to end: a command spoken in the language (by a Kokoro voice
of that language that is not the reply voice, or by espeak-ng) goes through the hub's pipeline
over Wyoming like a satellite's; the intent is the right one, the reply is Home Assistant's in
that language, spoken by the language's voice, and Whisper hears that reply back as written.

The hubs are set up by `language` alone: the recognizer model, the intents, the example home
and the reply voice all follow from it (hub/languages.py).
"""

from __future__ import annotations

import pytest

from tests.plugins.languages import heard, similar
from tests.plugins.pipeline import run_command
from voxhub.result import UnderstandingResult

#: (language, spoken text, speaker, intent, a target it must reach or a slot it must carry)
COMMANDS = [
    ("es", "Enciende la luz de la cocina", "em_alex", "HassTurnOn", "light.cocina"),
    ("es", "baja la persiana del salón", "espeak:es", "HassTurnOff", "cover.salon_persiana"),
    ("es", "enciende la cafetera", "espeak:es", "HassTurnOn", "switch.cafetera"),
    ("es", "Pon la luz de la cocina al 50 %", "em_santa", "HassLightSet", {"brightness": 50}),
    ("es", "¿Qué hora es?", "em_alex", "HassGetCurrentTime", None),
    # Kokoro has one French voice, the reply voice: the commands are spoken by it blended with
    # an Italian one (French G2P, another speaker), and by espeak-ng.
    ("fr", "Allume la lumière de la cuisine", "ff_siwis:0.7,if_sara:0.3", "HassTurnOn",
     "light.cuisine"),
    ("fr", "allume la cafetière", "espeak:fr", "HassTurnOn", "switch.cafetiere"),
    ("fr", "Ferme le volet du salon", "ff_siwis:0.7,if_sara:0.3", "HassTurnOff",
     "cover.salon_volet"),
    ("fr", "Règle la lumière de la cuisine à 40 %", "ff_siwis:0.7,if_sara:0.3",
     "HassLightSet", {"brightness": 40}),
    ("fr", "Quelle heure est-il ?", "ff_siwis:0.7,if_sara:0.3", "HassGetCurrentTime", None),
]
#: The satellite's area: an accented name, as the home writes it.
AREAS = {"es": "Salón", "fr": "Entrée"}


@pytest.mark.slow
@pytest.mark.parametrize(("language", "text", "speaker", "intent", "expected"), COMMANDS,
                         ids=[f"{c[0]}-{c[2].split(':')[0]}-{c[1][:24]}" for c in COMMANDS])
async def test_a_spoken_command_is_understood_and_answered_in_the_homes_language(
        language_hubs, say, multilingual_recognizer, language, text, speaker, intent,
        expected):
    hub = language_hubs(language)
    voice = str(hub.config.tts.voice)
    assert voice != speaker, "the command is not spoken by the reply voice"
    log = await run_command(hub.uri, say(text, speaker), name=f"{language}-sat",
                            area=AREAS[language], realtime=False,
                            extra={"voice": {"name": voice}})
    assert log.first("run-end").data["error"] is None
    result = UnderstandingResult.from_dict(log.first("intent-result").data)
    assert result.intent is not None, f"'{text}' heard as '{result.text}', not understood"
    assert result.intent.name == intent, f"'{text}' heard as '{result.text}'"
    if isinstance(expected, str):
        assert expected in result.targets
    elif isinstance(expected, dict):
        assert {k: result.intent.slots.get(k) for k in expected} == expected
    assert result.language == language

    # The reply is the language's (Home Assistant's templates, the hub's clock for the time).
    grammar = hub.understander.engine.grammar
    assert grammar.language == language
    if intent == "HassGetCurrentTime":
        assert result.reply.split()[0] in ("Es", "Son", "Il")
    assert log.first("synthesize").data["text"] == result.reply
    spoken = heard(multilingual_recognizer, bytes(log.audio), log.audio_format["rate"],
                   language)
    assert similar(spoken, result.reply, language) >= 70, \
        f"reply '{result.reply}' heard as '{spoken}'"


@pytest.mark.slow
@pytest.mark.parametrize("language", ["es", "fr"])
async def test_what_is_not_a_command_gets_the_languages_sorry_with_an_example_it_understands(
        language_hubs, say, multilingual_recognizer, language):
    hub = language_hubs(language)
    question = {"es": "¿Cuál es la capital de Australia?",
                "fr": "Quelle est la capitale de l'Australie ?"}[language]
    speaker = {"es": "em_alex", "fr": "ff_siwis:0.7,if_sara:0.3"}[language]
    log = await run_command(hub.uri, say(question, speaker), area=AREAS[language],
                            realtime=False, extra={"voice": {"name": str(hub.config.tts.voice)}})
    result = UnderstandingResult.from_dict(log.first("intent-result").data)
    assert result.intent is None and result.targets == []
    grammar = hub.understander.engine.grammar
    sorry = grammar.error_responses["no_intent"]
    assert result.reply.startswith(sorry.rstrip("."))
    example = result.reply.rsplit(":", 1)[-1].strip(" .")
    assert (await hub.understander.understand_text(example)).intent is not None, \
        f"the example '{example}' is not a command this home understands"
    spoken = heard(multilingual_recognizer, bytes(log.audio), log.audio_format["rate"],
                   language)
    assert similar(spoken, result.reply, language) >= 70, \
        f"reply '{result.reply}' heard as '{spoken}'"
