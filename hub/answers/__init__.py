"""Spoken answers to what is not a command for this home (`answers` in hub.yaml).

Only what the home grammar rejected reaches an answerer, so out-of-domain speech never becomes a
home action on the way. Answerers stream text (`base.Answerer`); `speech` turns the stream into
sentences for Kokoro, with time and length limits and an apology instead of silence.
"""
