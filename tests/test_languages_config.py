"""The `language` setting: what it chooses, what stays writable, and the combinations refused by
their key; the hub's own sentences and spoken numbers in the home's language."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from hub.config import HubConfig, load_hub_config
from voxhub.configfile import ConfigError, from_mapping, override


def _config(**data):
    return from_mapping(HubConfig, data, "hub.yaml")


@pytest.mark.parametrize(("language", "model", "spoken", "intents", "voice"), [
    ("en", "tiny.en", "en", "en", "af_heart"),
    ("en-GB", "tiny.en", "en", "en", "bf_emma"),
    ("es", "base", "es", "es", "ef_dora"),
    ("es-MX", "base", "es", "es", "ef_dora"),
    ("fr", "base", "fr", "fr", "ff_siwis"),
    ("it", "base", "it", "it", "if_sara"),
    ("pt", "base", "pt", "pt", "pf_dora"),
    ("pt-BR", "base", "pt", "pt-BR", "pf_dora"),
])
def test_language_alone_chooses_the_model_the_intents_and_a_voice_of_that_language(
        language, model, spoken, intents, voice):
    config = _config(language=language)
    assert (config.asr.model, config.asr.language, config.intents.language,
            config.tts.voice) == (model, spoken, intents, voice)


def test_the_default_is_english_as_before():
    config = HubConfig()
    assert (config.language, config.asr.model, config.intents.language, config.tts.voice) == (
        "en", "tiny.en", "en", "af_heart")


def test_every_choice_can_still_be_written_and_the_written_value_wins():
    config = _config(language="es", tts={"voice": "em_alex"}, asr={"language": None},
                     intents={"language": "ca"})
    assert config.tts.voice == "em_alex"
    assert config.asr.language is None  # empty: Whisper detects it
    assert config.intents.language == "ca"
    assert config.asr.model == "base"


def test_changing_the_language_later_chooses_again_only_what_nobody_wrote():
    """The command line comes after the file (`--language fr` over a file that wrote a voice)."""
    config = override(_config(tts={"voice": "em_alex"}), "language", "fr", "--language")
    assert (config.asr.model, config.intents.language, config.tts.voice) == (
        "base", "fr", "em_alex")
    again = override(config, "language", "en", "--language")
    assert (again.asr.model, again.intents.language) == ("tiny.en", "en")


def test_an_older_file_that_set_only_intents_language_makes_the_home_speak_it():
    config = _config(intents={"language": "es"})
    assert (config.language, config.asr.model, config.asr.language, config.tts.voice) == (
        "es", "base", "es", "ef_dora")


@pytest.mark.parametrize(("data", "message"), [
    ({"language": "es", "asr": {"model": "tiny.en"}},
     r"hub\.yaml: .*asr\.model: 'tiny\.en' understands English only, but language is 'es': "
     r"use the multilingual 'tiny'"),
    ({"language": "fr", "asr": {"model": "base.en"}}, r"asr\.model: 'base\.en' .*'base'"),
    ({"asr": {"language": "es", "model": "tiny.en"}}, r"asr\.language: 'es' cannot be heard"),
    ({"language": "xx"}, r"language: Home Assistant's intents have no 'xx'"),
    ({"language": "not a tag"}, r"language: 'not a tag' is not a language tag"),
    ({"language": "de"}, r"language: no Kokoro voice .* speaks 'de'.*write tts\.voice"),
])
def test_a_combination_that_cannot_work_is_refused_by_its_key(data, message):
    with pytest.raises(ConfigError, match=message):
        _config(**data)


def test_a_language_without_a_voice_serves_when_a_voice_is_written_or_nothing_speaks():
    assert _config(language="de", tts={"voice": "af_heart"}).intents.language == "de"
    assert _config(language="de", server={"programs": ["asr", "intent"]}).asr.model == "base"


def test_an_english_only_model_is_fine_for_another_backend():
    config = _config(language="es", asr={"backend": "openai", "model": "tiny.en"})
    assert config.asr.backend == "openai"


def test_the_hubs_language_flag_sets_the_one_setting(tmp_path: Path):
    from hub.cli.hub import configure

    parser = argparse.ArgumentParser()
    configure(parser)
    config_file = tmp_path / "hub.yaml"
    config_file.write_text("tts:\n  speed: 1.1\n", encoding="utf-8")
    from hub.cli.hub import config_from_args

    config = config_from_args(parser.parse_args(["--config", str(config_file),
                                                 "--language", "es"]))
    assert (config.language, config.asr.model, config.tts.voice, config.tts.speed) == (
        "es", "base", "ef_dora", 1.1)
    empty_model = config_from_args(parser.parse_args(["--language", "fr", "--asr-model", ""]))
    assert empty_model.asr.model == "base"
    with pytest.raises(ConfigError, match=r"asr\.model: 'tiny\.en' understands English only"):
        config_from_args(parser.parse_args(["--language", "es", "--asr-model", "tiny.en"]))


def test_a_copied_example_file_follows_the_language_it_is_given(tmp_path: Path):
    """config/hub.yaml leaves the derived keys commented out: adding `language: fr` to a copy
    of it is enough."""
    example = Path(__file__).resolve().parent.parent / "config" / "hub.yaml"
    copy = tmp_path / "hub.yaml"
    copy.write_text(example.read_text(encoding="utf-8") + "\nlanguage: fr\n", encoding="utf-8")
    config = load_hub_config(copy)
    assert (config.asr.model, config.intents.language, config.tts.voice) == (
        "base", "fr", "ff_siwis")


# --- the hub's own sentences -----------------------------------------------------------------


@pytest.fixture(scope="module")
def spanish_engine():
    from hub.intents.config import IntentsConfig
    from hub.intents.engine import IntentEngine
    from hub.intents.home import example_home_path, load_home

    engine = IntentEngine(IntentsConfig(language="es", fuzzy=False, cache_index=False))
    engine.set_home(load_home(example_home_path("es")), background=False)
    return engine


def test_a_spanish_home_has_a_spanish_example_home(spanish_engine):
    assert spanish_engine.home.find_area("Salón").id == "salon"
    assert spanish_engine.home.find_area("salon").id == "salon"


@pytest.mark.parametrize("said", ["baja la persiana del salón", "baja la persiana del salon",
                                  "apaga las luces del salon"])
def test_names_are_understood_with_or_without_their_accents(spanish_engine, said):
    decision = spanish_engine.decide([said])
    assert decision.match is not None and decision.method == "strict"
    assert decision.resolution.targets[0].area == "salon"


@pytest.fixture(scope="module")
def french_engine():
    """A French home with slip recovery on, as `language: fr` sets it up."""
    from hub.intents.config import IntentsConfig
    from hub.intents.engine import IntentEngine
    from hub.intents.home import example_home_path, load_home

    engine = IntentEngine(IntentsConfig(language="fr", cache_index=False))
    engine.set_home(load_home(example_home_path("fr")), background=False)
    return engine


@pytest.mark.parametrize("heard", ["Regle la lumiere de la cuisine a 40 %",
                                   "Règle la lumière de la cuisine à 40 pourcent",
                                   "regle la lumière de la cuisine a 40 pour cent"])
def test_a_command_heard_without_its_accents_or_with_per_cent_spelled_is_the_command(
        french_engine, heard):
    decision = french_engine.decide([heard], "entree")
    assert decision.match is not None, decision
    assert decision.match.intent == "HassLightSet"
    assert decision.match.slots["brightness"] == 40
    assert decision.resolution.targets[0].id == "light.cuisine"


def test_a_slipped_french_command_is_recovered_and_its_accents_cost_nothing(french_engine):
    """Whisper's "Règre" for "Règle": one slip, scored as one, not as one plus the accents
    and the '%' the sampled sentence spells out."""
    slipped = french_engine.decide(["Règre la lumière de la cuisine à 40 %"], "entree")
    unaccented = french_engine.decide(["Regre la lumiere de la cuisine a 40 %"], "entree")
    for decision in (slipped, unaccented):
        assert decision.match is not None and decision.match.slots["brightness"] == 40
    assert unaccented.confidence == pytest.approx(slipped.confidence, abs=0.03)


@pytest.mark.parametrize("speech", ["Quelle est la capitale de l'Australie ?",
                                    "Raconte-moi une blague", "J'ai faim ce soir"])
def test_french_speech_that_is_not_a_command_does_not_act(french_engine, speech):
    assert french_engine.decide([speech], "entree").match is None


def test_the_not_recognized_reply_is_spanish_with_an_example_the_home_understands(
        spanish_engine):
    reply = spanish_engine.not_recognized_reply()
    assert reply.startswith("Lo siento, no he entendido. Puedes decir, por ejemplo:")
    example = reply.split(":", 1)[1].strip(" .")
    assert spanish_engine.decide([example]).match is not None


def test_replies_that_say_nothing_was_done_are_in_the_homes_language(spanish_engine):
    import asyncio

    from hub.actions.actor import NoActor, failure_reply
    from hub.actions.home_assistant import IntentAnswer
    from voxhub.result import ActionStatus

    decision = spanish_engine.decide(["enciende la luz de la cocina"])
    from voxhub.result import IntentResult, UnderstandingResult

    result = UnderstandingResult("enciende la luz de la cocina", "es",
                                 IntentResult(decision.match.intent, decision.match.slots),
                                 [e.id for e in decision.resolution.targets], decision.reply)
    nobody = asyncio.run(NoActor().carry_out(result, spanish_engine))
    assert nobody.reply == "Lo he entendido, pero no hay nada configurado para hacerlo."
    failed = failure_reply(IntentAnswer(ActionStatus.FAILED, failed=["light.cocina"]), result,
                           spanish_engine)
    assert failed == "Lo siento, Home Assistant no ha podido hacerlo con Luz de la cocina."


def test_a_language_without_the_hubs_sentences_speaks_english_and_says_so(caplog):
    from hub.intents import phrases

    with caplog.at_level(logging.WARNING, logger="hub.intents.phrases"):
        assert phrases.phrase("nl", "done") == "Done"
    assert "not written in 'nl'" in caplog.text
    assert phrases.listing("fr", ["A", "B", "C"]) == "A, B et C"


@pytest.mark.parametrize(("text", "g2p", "spoken"), [
    ("Il est 14:05", "fr-fr", "Il est quatorze heures cinq"),
    ("Il est 01:00", "fr-fr", "Il est une heure"),
    ("Es la 1 y cuarto", "es", "Es la una y cuarto"),
    ("Son las 10:30", "es", "Son las diez y treinta"),
    ("Hace 21.5 °C", "es", "Hace veintiuno coma cinco grados"),
    ("Luminosité à 40 %", "fr-fr", "Luminosité à quarante pour cent"),
    ("Sono le 09:05", "it", "Sono le nove e cinque"),
])
def test_times_and_numbers_are_spoken_in_the_replys_language(text, g2p, spoken):
    from hub.tts.text import normalize

    assert normalize(text, g2p) == spoken
