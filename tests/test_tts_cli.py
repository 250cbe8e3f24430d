"""`voxhub say` and `voxhub voices` as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from hub.tts.program import TtsServerProgram
from tests.plugins.hub import ThreadedHub


def voxhub(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voxhub.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (24000, 2, 1)
        return wav.getnframes() / wav.getframerate()


def test_batch_writes_one_wav_per_input_line(tmp_path: Path, data_dir: Path) -> None:
    result = voxhub("say", "--batch", str(tmp_path / "out"), "--voice", "bm_george",
                    stdin="Turned on the lights.\n\nThe door is locked.\n")
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "out").glob("*.wav"))
    assert [f.name for f in files] == ["0001.wav", "0002.wav"]
    assert all(_wav_seconds(f) > 0.5 for f in files)


def test_phonemes_are_printed_without_synthesis(data_dir: Path) -> None:
    result = voxhub("say", "--phonemes", "Turned on the kitchen lights.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tˈɜɹnd ˌɔn ðə kˈɪʧᵊn lˈIts."


def test_an_unknown_voice_is_a_clear_error(data_dir: Path) -> None:
    result = voxhub("say", "--phonemes", "--voice", "af_hart", "Hello")
    assert result.returncode == 1
    assert "unknown voice 'af_hart'" in result.stderr and "af_heart" in result.stderr


@pytest.fixture(scope="module")
def running_hub(synthesizer):
    hub = ThreadedHub([TtsServerProgram(synthesizer)])
    yield hub
    hub.close()


def test_say_through_a_running_hub(tmp_path: Path, running_hub) -> None:
    text_file = tmp_path / "reply.txt"
    text_file.write_text("The garage door is closed.", encoding="utf-8")
    out = tmp_path / "remote.wav"
    result = voxhub("say", "--uri", running_hub.uri, "--file", str(text_file), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert _wav_seconds(out) > 1.0


def test_voices_lists_the_installed_voices(data_dir: Path) -> None:
    result = voxhub("voices", "--language", "en_GB")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert len(names) == 8 and "bf_emma" in names and "af_heart" not in names


def test_voices_says_which_voices_cannot_speak_here_and_why(data_dir: Path) -> None:
    from hub import data
    from hub.tts.g2p import unavailable_reason
    from hub.tts.voices import VoiceLibrary

    library = VoiceLibrary([data.voices_dir(data_dir)])
    hidden = [v for v in library.infos() if unavailable_reason(v.g2p_language)]
    result = voxhub("voices", "--language", "ja")
    assert result.returncode == 0, result.stderr
    if not hidden:
        pytest.fail("this test expects the Japanese G2P (misaki[ja]) not to be installed")
    assert "cannot speak on this install" in result.stdout
    for voice in (v for v in hidden if v.language == "ja_JP"):
        line = next(x for x in result.stdout.splitlines() if x.startswith(voice.name))
        assert "misaki[ja]" in line
    listed = json.loads(voxhub("voices", "--json").stdout)
    assert {v["name"] for v in listed if not v["available"]} == {v.name for v in hidden}
