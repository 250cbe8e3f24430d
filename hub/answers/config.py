"""Settings of the answers stage: who answers what the home grammar rejects, and its limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from voxhub.configfile import read_secret, setting

BY = ("auto", "none", "openai", "home_assistant", "recognizer")
#: The fields `system_prompt` may use; each is filled for every question.
PROMPT_FIELDS = ("language", "time", "date", "area")
API_KEY_ENV = "VOXHUB_ANSWERS_API_KEY"

DEFAULT_SYSTEM_PROMPT = (
    "You are the voice assistant of a home, speaking through a small speaker in the {area}. "
    "It is {time} on {date}. Answer in {language}, in one to three short sentences that sound "
    "natural when read aloud: no lists, no markdown, no emoji, no links. Asked how to say "
    "something in another language, answer in {language} and give the words themselves in "
    "that language, as they are written there. If you do not know, say so briefly. You "
    "cannot control devices.")


@dataclass
class AnswersConfig:
    by: str = setting("auto", "Who answers what is not a command for this home: openai (any "
                      "OpenAI-compatible chat server: Ollama, llama.cpp's server, vLLM, "
                      "LocalAI), home_assistant (a conversation agent of Home Assistant, "
                      "agent_id), recognizer (the audio-LLM recognizer answering from the "
                      "audio itself: Voxtral), none ('Sorry, I couldn't understand that'), or "
                      "auto: recognizer when asr.backend can answer (voxtral, openai), "
                      "else none.", choices=BY)
    url: str | None = setting(None, "by openai: the server's OpenAI API base, e.g. "
                              "http://localhost:11434/v1 (Ollama), http://localhost:8080/v1 "
                              "(llama.cpp), http://gpu-box:8000/v1 (vLLM); /chat/completions "
                              "is appended.")
    model: str | None = setting(None, "by openai: the model name the server knows "
                                "(llama3.2:3b, qwen2.5:1.5b-instruct…).")
    api_key_file: Path | None = setting(None, "by openai: file holding the API key, if the "
                                        f"server wants one; else ${API_KEY_ENV}. Never in "
                                        "this file or on a command line.")
    agent_id: str | None = setting(None, "by home_assistant: the conversation agent to ask "
                                   "(conversation.ollama, conversation.openai_conversation…; "
                                   "Settings → Voice assistants). Not voxhub's own agent.")
    system_prompt: str = setting(DEFAULT_SYSTEM_PROMPT, "by openai: the system prompt; "
                                 "{language}, {time}, {date} and {area} (the satellite's) are "
                                 "filled in for each question.")
    timeout_s: float = setting(30.0, "Longest answer, first token to last: what has not "
                               "arrived by then is not spoken.", minimum=1.0, maximum=600.0)
    first_sentence_timeout_s: float = setting(
        8.0, "Longest wait for the first sentence, and for each next piece of text once the "
        "answer has started; after it the satellite hears an apology, never silence.",
        minimum=0.5, maximum=120.0)
    max_chars: int = setting(600, "Longest spoken answer in characters; the answer stops at "
                             "the last whole sentence within it.", minimum=20, maximum=10000)
    max_tokens: int = setting(200, "by openai: the most tokens the server may generate "
                              "(max_tokens).", minimum=1, maximum=100000)
    unreachable_reply: str = setting("Sorry, I couldn't get an answer from the assistant.",
                                     "Said when the answerer is down, fails, hangs or has "
                                     "nothing to say (in the hub's language).")
    interrupted_reply: str = setting("Sorry, the assistant stopped answering.",
                                     "Said after the part of an answer that arrived, when the "
                                     "answerer fails or hangs in the middle of it.")

    def __post_init__(self) -> None:
        try:
            self.system_prompt.format(**dict.fromkeys(PROMPT_FIELDS, "x"))
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"answers.system_prompt: cannot fill {err} in it; allowed "
                             f"fields: {', '.join('{' + f + '}' for f in PROMPT_FIELDS)}"
                             ) from None
        if self.by == "openai" and not (self.url and self.model):
            raise ValueError("answers.by: openai needs answers.url and answers.model")
        if self.by == "home_assistant" and not self.agent_id:
            raise ValueError("answers.by: home_assistant needs answers.agent_id (the agent to "
                             "ask; never voxhub's own, which would ask itself)")

    def api_key(self) -> str | None:
        """The OpenAI server's key: api_key_file, else $VOXHUB_ANSWERS_API_KEY, else none."""
        if self.api_key_file is not None:
            return read_secret(self.api_key_file, "answers.api_key_file")
        return os.environ.get(API_KEY_ENV, "").strip() or None
