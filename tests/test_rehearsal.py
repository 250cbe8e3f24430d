"""The rehearsal harness decides that a hub is ready one way: it answers `describe`."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rehearsal.hub_process import HubProcess, describes, wait_ready
from rehearsal.ports import free_port
from rehearsal.speech import RATE, espeak, speech_bounds
from tests.plugins.hub import ThreadedHub


def test_a_hub_endpoint_that_answers_describe_is_ready():
    hub = ThreadedHub([])
    try:
        assert describes(hub.uri)
        wait_ready(hub.uri, timeout=5)
    finally:
        hub.close()


def test_nothing_listening_is_not_ready_and_the_wait_ends_with_a_clear_error():
    uri = f"tcp://127.0.0.1:{free_port()}"
    assert not describes(uri, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="not ready after 1"):
        wait_ready(uri, timeout=1.0)
    assert time.monotonic() - started < 3


def test_a_hub_that_exits_during_start_up_is_reported_with_its_log(tmp_path):
    hub = HubProcess(tmp_path / "hub.log", extra_args=["--set", "no_such_setting=1"])
    with pytest.raises(RuntimeError, match=r"exited with \d+ during start-up; see .*hub\.log"):
        hub.start(timeout=60)
    assert hub.proc is None
    assert "no_such_setting" in (tmp_path / "hub.log").read_text()


def test_espeak_speech_is_trimmed_to_its_voiced_samples():
    audio = espeak("turn on the kitchen lights")
    start, end = speech_bounds(audio)
    assert start == 0.0 and end == (len(audio) - 1) / RATE
    assert 0.8 < len(audio) / RATE < 3.0 and audio.dtype == np.float32
    untrimmed = espeak("turn on the kitchen lights", trim=False)
    assert len(untrimmed) > len(audio)
