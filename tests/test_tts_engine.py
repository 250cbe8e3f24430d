"""Kokoro synthesis on CPU: intelligible, every voice, blends, speed, names, cache, languages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from hub.tts.engine import TextTooLongError
from hub.tts.g2p import LanguageUnavailableError, Phonemizer, load_lexicon
from hub.tts.voices import UnknownVoiceError
from tests.plugins.hub import rms, transcribe


def _stream(synth, text: str, **kwargs) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [piece async for piece in synth.stream(synth.request(text, **kwargs))]

    return asyncio.run(collect())


def test_a_reply_is_24khz_speech_that_whisper_transcribes_word_for_word(synthesizer,
                                                                         whisper_tiny) -> None:
    pcm = b"".join(_stream(synthesizer, "Turned on the kitchen lights."))
    assert synthesizer.sample_rate == 24000
    assert 0.8 < len(pcm) / 2 / 24000 < 4.0
    assert transcribe(whisper_tiny, pcm, 24000) == "turned on the kitchen lights"


def test_numbers_and_units_are_spoken_as_words(synthesizer, whisper_tiny) -> None:
    pcm = synthesizer.synthesize("The living room is at 21 °C.")
    heard = transcribe(whisper_tiny, pcm, 24000)
    assert "degree" in heard and "celsius" in heard
    assert "21" in heard or "twenty one" in heard


def test_all_28_english_voices_are_installed_with_language_and_description(synthesizer) -> None:
    english = [v for v in synthesizer.voice_infos() if v.language in ("en_US", "en_GB")]
    assert len(english) == 28
    heart = next(v for v in english if v.name == "af_heart")
    assert heart.language == "en_US" and "female" in heart.description
    assert next(v for v in english if v.name == "bm_george").language == "en_GB"


def test_a_blend_is_a_voice_of_its_own(synthesizer) -> None:
    plain = synthesizer.voices.style_table("af_heart")
    other = synthesizer.voices.style_table("af_bella")
    blend = synthesizer.voices.style_table("af_heart:0.7,af_bella:0.3")
    np.testing.assert_allclose(blend, 0.7 * plain + 0.3 * other, rtol=1e-5, atol=1e-6)
    assert len(synthesizer.synthesize("Hello there.", "af_heart:0.7,af_bella:0.3")) > 24000


def test_speed_changes_the_duration(synthesizer) -> None:
    slow = synthesizer.synthesize("The garage door is now closed.", speed=0.7)
    fast = synthesizer.synthesize("The garage door is now closed.", speed=1.6)
    assert len(slow) > 1.6 * len(fast)


def test_unknown_voice_names_the_closest_voices(synthesizer) -> None:
    with pytest.raises(UnknownVoiceError) as err:
        synthesizer.request("Hello", voice="af_hart")
    assert "af_heart" in str(err.value)


def test_oversized_text_and_out_of_range_speed_are_refused(synthesizer) -> None:
    with pytest.raises(TextTooLongError, match="10000"):
        synthesizer.request("a" * 10_001)
    with pytest.raises(ValueError, match="speed"):
        synthesizer.request("Hello", speed=3.0)


def test_long_text_renders_every_piece_under_the_token_limit(synthesizer) -> None:
    text = "The kitchen lights are on and the heating is running. " * 40
    segments = synthesizer.segments(synthesizer.request(text))
    assert len(segments) >= 8  # later pieces grow, but stay under the model's limit
    tokens = [synthesizer.phonemizer.tokens(p) for p in synthesizer.phonemes(text)]
    assert all(0 < len(t) <= 510 for t in tokens)


def test_streaming_sends_the_first_piece_before_the_rest_is_rendered(synthesizer) -> None:
    pieces = _stream(synthesizer, "Good morning. It is seven thirty and raining outside. "
                     "Take an umbrella with you today.", voice="am_michael")
    assert len(pieces) >= 2
    assert len(pieces[0]) < len(b"".join(pieces[1:]))


def test_a_repeated_reply_comes_from_the_cache(synthesizer) -> None:
    text = "Turned off the hallway light."
    first = _stream(synthesizer, text, voice="bf_emma")
    hits = synthesizer.cache.hits
    again = _stream(synthesizer, text, voice="bf_emma")
    assert synthesizer.cache.hits == hits + 1
    assert again == first
    other_speed = _stream(synthesizer, text, voice="bf_emma", speed=1.2)
    assert synthesizer.cache.hits == hits + 1 and other_speed != first


def test_household_names_follow_the_lexicon_and_inline_markup(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("Siobhan: ʃəvˈɔn\n", encoding="utf-8")
    phonemizer = Phonemizer(load_lexicon(lexicon))
    assert "ʃəvˈɔn" in phonemizer.phonemes("Welcome home, Siobhan.", "en-us")
    assert "kˈOkəɹO" in phonemizer.phonemes("Hello [Kokoro](/kˈOkəɹO/).", "en-us")


def test_a_lexicon_with_symbols_kokoro_lacks_names_the_entry(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("Zed: 'z3d'\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lexicon.yaml: Zed: symbols"):
        load_lexicon(lexicon)


def test_other_languages_speak_through_espeak(synthesizer) -> None:
    pcm = synthesizer.synthesize("Hola, la luz de la cocina está encendida.", voice="ef_dora")
    assert rms(pcm) > 0.01
    assert synthesizer.phonemes("Bonjour", voice="ff_siwis")[0]


def test_a_language_without_its_g2p_names_the_languages_that_can_run(synthesizer) -> None:
    if "ja" in synthesizer.phonemizer.available_languages():
        pytest.fail("pyopenjtalk is not part of the hub extra; this test expects it absent")
    with pytest.raises(LanguageUnavailableError, match="en-us") as err:
        synthesizer.request("こんにちは", voice="jf_alpha")
    assert "ja" in str(err.value)


def test_a_model_that_is_neither_a_file_nor_reachable_is_a_clear_error(tmp_path,
                                                                        monkeypatch) -> None:
    import huggingface_hub.constants

    from hub.data import DataError, resolve_model_file

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network waits

    with pytest.raises(DataError, match="neither a file nor a model-hub id"):
        resolve_model_file(str(tmp_path / "missing.onnx"), "onnx/model.onnx")
    # Offline (forced): the error names the repository and what to do instead.
    with pytest.raises(DataError, match=r"voxhub-tests/no-such-model.*local file"):
        resolve_model_file("voxhub-tests/no-such-model", "onnx/model.onnx")
