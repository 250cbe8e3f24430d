"""Audio chunks of any byte length convert to the same samples as the whole stream at once."""

from __future__ import annotations

import numpy as np
import pytest

from voxhub.audio import PcmReassembler, float_to_pcm16, to_mono16k


def tone(rate: int, seconds: float = 0.5, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def pcm24_stereo(samples: np.ndarray) -> bytes:
    ints = np.round(np.clip(samples, -1, 1) * ((1 << 23) - 1)).astype("<i4")
    frames = np.repeat(ints, 2)  # left and right the same
    raw = frames.view(np.uint8).reshape(-1, 4)[:, :3]
    return raw.tobytes()


def chunked(pcm: bytes, size: int) -> list[bytes]:
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]


def convert(pieces: list[bytes], rate: int, width: int, channels: int) -> np.ndarray:
    reassembler = PcmReassembler()
    parts = [reassembler.to_mono16k(p, rate, width, channels) for p in pieces]
    parts.append(reassembler.flush_mono16k())
    return np.concatenate(parts)


@pytest.mark.parametrize("size", [1, 3, 1023, 4095, 8191, 65536])
def test_16k_pcm16_in_chunks_of_any_length_gives_the_whole_streams_samples(size: int) -> None:
    pcm = float_to_pcm16(tone(16000))
    whole = to_mono16k(pcm, 16000, 2, 1)
    assert np.array_equal(convert(chunked(pcm, size), 16000, 2, 1), whole)


@pytest.mark.parametrize("size", [1, 1023, 4095, 8191])
def test_48k_24bit_stereo_in_odd_chunks_keeps_its_length_and_its_waveform(size: int) -> None:
    source = tone(48000)
    pcm = pcm24_stereo(source)
    converted = convert(chunked(pcm, size), 48000, 3, 2)
    expected = tone(16000)
    assert len(converted) == len(expected)  # no drift, however small the chunks
    # Block edges of the low-pass cost a little accuracy, never a shifted sample (which would
    # turn the tone into full-scale noise).
    assert np.abs(converted[8:-8] - expected[8:-8]).max() < 0.05


def test_dropping_the_partial_frame_per_chunk_is_what_the_reassembler_prevents() -> None:
    pcm = float_to_pcm16(tone(16000))
    naive = np.concatenate([to_mono16k(p, 16000, 2, 1) for p in chunked(pcm, 1023)])
    whole = to_mono16k(pcm, 16000, 2, 1)
    assert len(naive) < len(whole)
    assert np.abs(naive[600:1000] - whole[600:1000]).max() > 0.1  # the shifted bytes are noise
    assert np.array_equal(convert(chunked(pcm, 1023), 16000, 2, 1), whole)


def test_a_change_of_format_drops_the_old_formats_partial_frame() -> None:
    reassembler = PcmReassembler()
    assert len(reassembler.to_mono16k(b"\x01\x02\x03", 16000, 2, 1)) == 1
    assert reassembler.pending_bytes == 1
    mono8k = float_to_pcm16(tone(8000, seconds=0.1))
    out = np.concatenate([reassembler.to_mono16k(mono8k, 8000, 2, 1),
                          reassembler.flush_mono16k()])
    assert len(out) == 2 * len(mono8k) // 2  # 8 kHz doubled, nothing of the stray byte
    assert np.allclose(out, to_mono16k(mono8k, 8000, 2, 1))


def test_the_end_of_the_stream_hands_over_frames_waiting_for_a_block() -> None:
    reassembler = PcmReassembler()
    pcm = float_to_pcm16(tone(44100, seconds=0.005))  # less than one 441-frame block
    assert len(reassembler.to_mono16k(pcm, 44100, 2, 1)) == 0
    assert len(reassembler.flush_mono16k()) == round(len(pcm) / 2 * 16000 / 44100)
    assert reassembler.pending_bytes == 0


def test_a_format_it_cannot_read_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="sample width 5"):
        PcmReassembler().take(b"\x00" * 10, 16000, 5, 1)
    with pytest.raises(ValueError, match="invalid audio format"):
        PcmReassembler().take(b"\x00" * 10, 16000, 2, 0)
