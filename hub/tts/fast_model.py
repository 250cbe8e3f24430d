"""The offline Kokoro rewritten for speed on this hub: made once, kept in the data directory.

Two independent graph rewrites, each explained in its module: `int8_convs` (convolutions on
VNNI int8 matrix products, bit for bit the same) and `snake` (the vocoder's Snake activations
as multi-threaded multiply-adds, the same to within float rounding). The file name records
which rewrites ran and at which version, so a changed rewrite or setting makes a new file
instead of reusing a stale one (and the file it replaces is removed: each is 92 MB).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hub.tts import int8_convs, snake

if TYPE_CHECKING:
    from onnx import GraphProto

    from hub.tts.config import TtsConfig

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rewrites:
    int8_matmul: bool = False
    snake: bool = False

    @classmethod
    def for_config(cls, config: TtsConfig) -> Rewrites:
        """What to apply for these settings on this machine (only CPU inference gains)."""
        on_cpu = config.device == "cpu" and config.backend == "onnx" and not config.model
        return cls(int8_matmul=on_cpu and config.int8_matmul and int8_convs.cpu_has_vnni(),
                   snake=on_cpu and config.fast_snake)

    def __bool__(self) -> bool:
        return self.int8_matmul or self.snake

    def path_for(self, source: Path) -> Path:
        tags = [f"matmul{int8_convs.REWRITE_VERSION}"] if self.int8_matmul else []
        tags += [f"snake{snake.REWRITE_VERSION}"] if self.snake else []
        return source.with_name(".".join([source.stem, *tags, "onnx"]))


def build(source: Path, target: Path, rewrites: Rewrites) -> None:
    """Write `source` with `rewrites` applied to `target` (atomically: hubs may race here)."""
    import onnx

    model = onnx.load(str(source))
    counts = {}
    if rewrites.int8_matmul:
        counts["int8 convolutions"] = int8_convs.rewrite_convs(model)
    if rewrites.snake:
        counts["Snake activations"] = snake.rewrite_snakes(model)
    _prune(model.graph)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    onnx.save(model, str(partial))
    partial.replace(target)
    _LOGGER.info("Rewrote %s of %s into %s", ", ".join(f"{n} {what}" for what, n in
                                                        counts.items()), source.name, target)
    for stale in target.parent.glob(f"{source.stem}.*.onnx"):  # other settings or versions
        if stale != target:
            stale.unlink(missing_ok=True)
            _LOGGER.info("Removed %s, made for other settings or an older version", stale.name)


def _prune(graph: GraphProto) -> None:
    """Drop the nodes and initializers the rewrites left without a consumer."""
    outputs = {o.name for o in graph.output}
    while True:
        used = outputs | _inputs(graph)
        live = [n for n in graph.node if any(out in used for out in n.output)]
        if len(live) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(live)
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def _inputs(graph: GraphProto) -> set[str]:
    """Every name the graph's nodes read, those inside control-flow bodies included."""
    names = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            for body in [attr.g] if attr.HasField("g") else list(attr.graphs):
                names |= _inputs(body)
    return names
