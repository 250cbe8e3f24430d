"""Settings of the two audio-LLM recognizers: Voxtral in-process, and an OpenAI-compatible server.

They are sections of `asr` in hub.yaml (`asr.voxtral.*`, `asr.openai.*`), read only when
`asr.backend` names them, so a CPU hub never pays for them. Both backends share the same prompts
(hub/asr/llm_tools.py), so the defaults here say what the model is asked, in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.configfile import setting

MODES = ("transcribe", "understand")

DEFAULT_INSTRUCTION = (
    "You control a smart home. First write one line starting with 'Heard:' and exactly what was "
    "said. If a tool can do what was asked, write one line starting with 'Reply:' and a short "
    "spoken confirmation, then call that tool with arguments using only the allowed values. If "
    "no tool fits, call no tool.")
DEFAULT_ANSWER_INSTRUCTION = (
    "Answer the spoken question briefly, in one or two short spoken sentences, without "
    "formatting. If you cannot know the answer, say so.")
DEFAULT_TRANSLATE_INSTRUCTION = (
    "Translate the speech in this audio into {language}. Reply with the translation only.")


@dataclass
class VoxtralConfig:
    model: str = setting(
        "mistralai/Voxtral-Mini-3B-2507",
        "Voxtral checkpoint: a folder with config.json, the weights, preprocessor_config.json and "
        "tekken.json (absolute, or relative to the data directory's models/ folder), or a hub id "
        "such as mistralai/Voxtral-Mini-3B-2507 (≈ 9.5 GB GPU in bf16) or "
        "mistralai/Voxtral-Small-24B-2507 (≈ 55 GB) when the hub can reach a model hub.")
    device: str = setting(
        "auto", "Where the model runs: 'auto' (the first CUDA GPU when there is one, else the "
        "CPU), 'cpu', 'cuda' or 'cuda:N'.")
    dtype: str = setting(
        "auto", "Weight precision: 'auto' (bfloat16 on CUDA, float32 on the CPU), 'bfloat16', "
        "'float16' or 'float32'.", choices=("auto", "bfloat16", "float16", "float32"))
    mode: str = setting(
        "understand", "'transcribe': plain speech to text, the intents stage matches the text. "
        "'understand': one pass where the audio, the instruction and the home's intents as tools "
        "give a tool call (validated against the home before it is used) plus a transcript.",
        choices=MODES)
    instruction: str = setting(DEFAULT_INSTRUCTION,
                               "What the model is told next to the audio in 'understand' mode "
                               "(Voxtral takes no system prompt together with audio).")
    answer_instruction: str = setting(
        DEFAULT_ANSWER_INSTRUCTION, "What the model is told when no intent matched and the hub "
        "asks for a spoken answer to a free-form question instead of 'Sorry'.")
    translate_instruction: str = setting(
        DEFAULT_TRANSLATE_INSTRUCTION, "Instruction for speech translation; {language} becomes "
        "the target language's name.")
    max_new_tokens: int = setting(200, "Most tokens generated per request (a transcript of 30 s "
                                  "of speech is ≈ 120 tokens).", minimum=8, maximum=4096)
    realtime_model: str = setting(
        "", "Checkpoint of the streaming model (mistralai/Voxtral-Mini-4B-Realtime-2602, or a "
        "folder) for partial transcripts while the user speaks; empty turns streaming off. Needs "
        "transformers ≥ 5.2.")
    attn_implementation: str = setting(
        "sdpa", "Attention kernel passed to transformers ('sdpa', 'eager', or "
        "'flash_attention_2' where installed).")


@dataclass
class OpenAIConfig:
    url: str = setting("http://localhost:8000/v1",
                       "Base URL of the OpenAI-compatible API (vLLM: `vllm serve "
                       "mistralai/Voxtral-Mini-3B-2507 --tokenizer_mode mistral --config_format "
                       "mistral --load_format mistral --enable-auto-tool-choice "
                       "--tool-call-parser mistral`), up to and including /v1.")
    api_key: str = setting("", "Bearer token sent to the server; empty uses $OPENAI_API_KEY, and "
                           "no header when that is unset too (vLLM without --api-key).")
    model: str = setting("mistralai/Voxtral-Mini-3B-2507",
                         "Model name as the server knows it (vLLM: the served model name).")
    mode: str = setting("understand", "'transcribe' uses /v1/audio/transcriptions; 'understand' "
                        "sends the audio as input_audio with the home's intents as tools to "
                        "/v1/chat/completions and returns the tool call.", choices=MODES)
    instruction: str = setting(DEFAULT_INSTRUCTION, "Text sent next to the audio in "
                               "'understand' mode.")
    answer_instruction: str = setting(DEFAULT_ANSWER_INSTRUCTION,
                                      "Text sent next to the audio for a free-form answer.")
    translate_instruction: str = setting(DEFAULT_TRANSLATE_INSTRUCTION,
                                         "Instruction for speech translation; {language} becomes "
                                         "the target language's name.")
    max_tokens: int = setting(200, "Most tokens the server may generate per request.",
                              minimum=8, maximum=4096)
    timeout_s: float = setting(20.0, "Seconds to wait for one HTTP request (connect + answer) "
                               "before it counts as failed.", minimum=0.1)
    retries: int = setting(2, "Further attempts after a failed request (connection refused, "
                           "timeout, HTTP 429 or 5xx); client errors (4xx) are not retried.",
                           minimum=0, maximum=10)
    backoff_s: float = setting(0.5, "Wait before the first retry; doubled for each further one.",
                               minimum=0.0)
