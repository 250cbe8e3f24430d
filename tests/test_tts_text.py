"""Text normalisation, SSML and splitting: what the voice says for what a reply contains."""

from __future__ import annotations

import itertools
import re

import pytest

from hub.tts.text import normalize, parse_ssml, segments_for, split_long


@pytest.mark.parametrize(("text", "spoken"), [
    ("It is 7:30 pm.", "It is seven thirty P M."),
    ("Wake up at 6:05", "Wake up at six oh five"),
    ("The timer ends at 14:00.", "The timer ends at fourteen o'clock."),
    ("Set for 7 am", "Set for seven A M"),
    ("It is 21 °C inside", "It is twenty-one degrees Celsius inside"),
    ("Outside it is -3.5°F", "Outside it is minus three point five degrees Fahrenheit"),
    ("Humidity is 45%", "Humidity is forty-five percent"),
    ("That costs $3.20", "That costs three dollars and twenty cents"),
    ("A ticket is €1", "A ticket is one euro"),
    ("Dr. Smith lives on Oak St.", "Doctor Smith lives on Oak Street"),
    ("The 1st floor", "The first floor"),
    ("Using 3.5 kW right now", "Using three point five kilowatts right now"),
    ("Wind at 15 km/h", "Wind at fifteen kilometers per hour"),
    ("Tom & Jerry", "Tom and Jerry"),
    ("1,250 steps", "one thousand, two hundred and fifty steps"),
])
def test_home_replies_are_spelled_out(text: str, spoken: str) -> None:
    assert normalize(text) == spoken


def test_other_languages_get_their_own_number_words() -> None:
    assert normalize("Hay 3 luces", "es") == "Hay tres luces"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_long_text_is_split_under_the_limit_without_losing_or_repeating_words() -> None:
    text = ("The kitchen lights are on, the living room is at twenty one degrees; "
            "the garage door is closed and locked. ") * 30 + "Good night!"
    segments = segments_for(text, max_chars=120, first_chars=24)
    assert all(len(s.text) <= 120 for s in segments)
    assert _words(" ".join(s.text for s in segments)) == _words(text)


def test_a_sentence_without_punctuation_is_cut_between_words() -> None:
    sentence = " ".join(f"word{i}" for i in range(200))
    pieces = split_long(sentence, 50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces).split() == sentence.split()


def test_the_first_piece_is_short_so_audio_starts_early() -> None:
    segments = segments_for("Turned on the kitchen lights and the living room lamp in the hall.",
                            first_chars=24)
    assert len(segments[0].text) < 40
    assert len(segments) >= 2


@pytest.mark.parametrize(("sentence", "head"), [
    ("The garage door is closed and locked now.", "The garage door"),
    ("I added milk and eggs to your shopping list.", "I added milk"),
    ("Sorry, I could not find a device called basement heater.", "Sorry,"),
    ("The humidity in the bathroom is sixty-five percent.", "The humidity"),
    ("Playing your morning playlist in the kitchen.", "Playing your morning playlist"),
])
def test_the_first_piece_ends_where_a_speaker_would_pause(sentence: str, head: str) -> None:
    segments = segments_for(sentence, first_chars=16)
    assert segments[0].text == head
    assert _words(" ".join(s.text for s in segments)) == _words(sentence)


def test_a_short_sentence_without_a_natural_pause_is_rendered_whole() -> None:
    assert [s.text for s in segments_for("Turned on the kitchen lights.", first_chars=16)] == [
        "Turned on the kitchen lights."]


def test_ssml_markup_is_never_text_and_breaks_become_pauses() -> None:
    segments = parse_ssml('<speak>Hello <break time="500ms"/> there, '
                          '<sub alias="World Wide Web">WWW</sub>. <emphasis>Done</emphasis>'
                          '<break strength="strong"/></speak>')
    text = " ".join(s.text for s in segments)
    assert "<" not in text and "break" not in text
    assert "World Wide Web" in text and "WWW" not in text
    assert segments[0].text == "Hello" and segments[0].pause_s == pytest.approx(0.5)
    assert segments[-1].pause_s == pytest.approx(0.7)


def test_ssml_without_speak_root_and_invalid_ssml() -> None:
    assert parse_ssml("Plain <break time='1s'/> text")[0].pause_s == pytest.approx(1.0)
    with pytest.raises(ValueError, match="invalid SSML"):
        parse_ssml("<speak>unclosed <emphasis></speak>")


def test_a_number_too_long_to_say_is_read_digit_by_digit_at_once() -> None:
    import time

    started = time.perf_counter()
    spoken = normalize("Code " + "9" * 9000 + ", then 1," + "999," * 2000 + "9.")
    assert time.perf_counter() - started < 1.0  # it once took seconds, on the event loop
    assert spoken.startswith("Code nine nine nine") and "one nine nine nine" in spoken
    assert normalize("It costs 1,000,000 dollars") == "It costs one million dollars"


def test_ssml_pauses_are_bounded_and_bad_breaks_are_refused() -> None:
    segments = parse_ssml("<speak>Wait" + "<break time='10s'/>" * 500 + "</speak>")
    assert max(s.pause_s for s in segments) <= 10.0
    for time_ in ("-5s", "nans", "soon", "infs"):
        with pytest.raises(ValueError, match="break time"):
            parse_ssml(f"<speak>a<break time='{time_}'/>b</speak>")
    with pytest.raises(ValueError, match="nest too deeply"):
        parse_ssml("<speak>" + "<s>" * 1400 + "x" + "</s>" * 1400 + "</speak>")


def test_later_pieces_grow_so_rendering_keeps_ahead_of_playback() -> None:
    from hub.tts.text import Segment, grow_pieces

    sentences = [Segment("Good morning.", 0.2)] + [
        Segment(f"Sentence number {i} is here.", 0.2) for i in range(12)]
    pieces = grow_pieces(sentences, 300, 0.25)
    assert pieces[0].text == "Good morning."
    assert all(len(b.text) <= max(2 * len(a.text) + 1, 40)
               for a, b in itertools.pairwise(pieces[1:]))
    assert _words(" ".join(p.text for p in pieces)) == _words(" ".join(s.text for s in sentences))
    assert len(pieces) < len(sentences)


def test_an_explicit_break_is_never_merged_away() -> None:
    from hub.tts.text import Segment, grow_pieces

    pieces = grow_pieces([Segment("One."), Segment("Two.", 1.5), Segment("Three.")], 300, 0.25)
    assert [p.text for p in pieces] == ["One.", "Two.", "Three."]
    assert pieces[1].pause_s == 1.5
