"""The bundled MiniLM on ONNX Runtime: the same weights, exported locally, optionally int8.

The export runs once per model folder, offline, from the weights on disk (``torch.onnx.export``
of the transformer with mean pooling and L2 normalization inside the graph; nothing is
downloaded). The file is cached under ``$TURNMEM_CACHE`` (default ``~/.cache/turnmem``) in
``onnx/<hash of the model files and the recipe>/`` and written atomically (a temporary file, then
``os.replace``), so concurrent first uses never read half a file. The int8 file is
onnxruntime's dynamic quantization of the exported graph with per-channel weight scales
(per-tensor scales cost too much accuracy on MiniLM: mean cosine 0.95 to fp32 instead of 0.99).

Inference needs only onnxruntime, the model's ``tokenizer.json`` (``tokenizers``) and numpy.
Texts are sorted by length before batching so a batch pads to its own longest text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from memory.embedders.base import bundled_model_path, clip_for_model
from memory.errors import InvalidArgument

if TYPE_CHECKING:  # for annotations only: onnxruntime and tokenizers load lazily, on first embed
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

Precision = Literal["fp32", "int8"]
RECIPE = "onnx-export-1: eager attention, opset 17, mean pooling + normalize in graph; int8 = ORT dynamic per-channel"
_MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json", "modules.json")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_root() -> Path:
    """Where exported models live: ``$TURNMEM_CACHE/onnx`` or ``~/.cache/turnmem/onnx``."""
    base = os.environ.get("TURNMEM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "turnmem"
    )
    return Path(base) / "onnx"


def model_hash(model_dir: Path) -> str:
    """A short hash of the files that decide the model's output, and of the export recipe. The
    weights count by size and their first 8 MB (hashing all 90 MB would cost every start ~0.3 s);
    the other files whole."""
    h = hashlib.sha256(RECIPE.encode())
    for name in _MODEL_FILES:
        path = model_dir / name
        if path.exists():
            h.update(f"{name}:{path.stat().st_size}".encode())
            with path.open("rb") as f:
                h.update(hashlib.sha256(f.read(8 << 20)).digest())
    return h.hexdigest()[:16]


def _read_config(model_dir: Path) -> tuple[int, bool]:
    """The model's max sequence length and lowercasing, refusing pooling other than mean."""
    pooling = model_dir / "1_Pooling" / "config.json"
    if pooling.exists() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", False):
        raise InvalidArgument(f"embedder: {model_dir} does not use mean pooling; the ONNX backend supports only that")
    cfg_path = model_dir / "sentence_bert_config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    return int(cfg.get("max_seq_length", 256)), bool(cfg.get("do_lower_case", False))


def _atomic_save(target: Path, write: Callable[[str], object]) -> None:
    """``write(tmp_path)`` then rename onto ``target`` (same folder, so the rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _export_fp32(model_dir: Path, target: Path) -> None:
    # torch and transformers load only for the one-off export (seconds, hundreds of MB)
    import torch  # noqa: PLC0415
    from transformers import AutoModel  # noqa: PLC0415
    from transformers.utils import logging as hf_logging  # noqa: PLC0415

    hf_logging.disable_progress_bar()  # no "Loading weights" bar in the middle of our own message

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in range(2)) + (torch.zeros(2, 8, dtype=torch.long),)
    axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS} | {"embedding": {0: "batch"}}

    def write(tmp: str) -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's tracer and deprecation chatter
            torch.onnx.export(
                Pooled(model),
                dummy,
                tmp,
                input_names=list(_INPUTS),
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )

    _atomic_save(target, write)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415 - only for the int8 export

    def write(tmp: str) -> None:
        logging.disable(logging.WARNING)  # its root-logger advice to pre-process first (not needed here)
        try:
            quantize_dynamic(source, Path(tmp), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            logging.disable(logging.NOTSET)

    _atomic_save(target, write)


def exported_model(model_dir: Path, precision: Precision = "fp32", *, quiet: bool = False) -> Path:
    """The cached ONNX file for ``model_dir`` at ``precision``, exporting it first if missing
    (a few seconds, announced on stderr unless ``quiet``)."""
    folder = cache_root() / model_hash(model_dir)
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    target = fp32 if precision == "fp32" else int8
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if not quiet:
        print(f"turnmem: exporting {model_dir} to ONNX ({precision}) in {folder} (once)...", file=sys.stderr)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not fp32.exists():
        _export_fp32(model_dir, fp32)
    if precision == "int8" and not int8.exists():
        _quantize(fp32, int8)
    if not quiet:
        print(f"turnmem: ONNX export done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return target


def _threads() -> int:
    """Intra-op threads: ``$OMP_NUM_THREADS`` when set (as torch does), else onnxruntime's default."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


class OnnxEmbedder:
    """A sentence-transformers mean-pooling model (the bundled MiniLM) on ONNX Runtime.

    ``name`` is the model's name, as for the torch backend: the vectors live in the same space
    (see :mod:`memory.embedders.identity`); ``backend`` says which runtime and precision made them.
    """

    def __init__(self, model_dir: Path, *, name: str, precision: Precision = "fp32", batch_size: int = 32) -> None:
        if precision not in ("fp32", "int8"):
            raise InvalidArgument(f"precision: give 'fp32' or 'int8' (got {precision!r})", field="precision")
        if not (model_dir / "tokenizer.json").exists():
            raise InvalidArgument(f"embedder: no tokenizer.json in {model_dir}", field="embedder")
        self.model_dir = model_dir
        self.name = name
        self.precision: Precision = precision
        self.backend = "onnx" if precision == "fp32" else "onnx-int8"
        self.batch_size = batch_size
        self.max_length, self._lower = _read_config(model_dir)
        self._session: InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[InferenceSession, Tokenizer]:
        """The inference session and the tokenizer, loaded once (the tokenizer is set first, so a
        session seen without the lock comes with its tokenizer)."""
        session, tokenizer = self._session, self._tokenizer
        if session is None or tokenizer is None:
            with self._lock:
                if self._session is None:
                    # lazy heavy imports: opening a memory must not load onnxruntime
                    import onnxruntime as ort  # noqa: PLC0415
                    from tokenizers import Tokenizer  # noqa: PLC0415

                    tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                    tok.enable_truncation(self.max_length)
                    tok.enable_padding(pad_id=tok.token_to_id("[PAD]") or 0, pad_token="[PAD]")
                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = _threads()
                    opts.inter_op_num_threads = 1
                    # idle workers sleep instead of spinning: the cores are shared with retrieval
                    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    path = exported_model(self.model_dir, self.precision)
                    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                    self._tokenizer = tok
                    self._dim = int(session.get_outputs()[0].shape[1] or 0) or None
                    self._session = session
                session, tokenizer = self._session, self._tokenizer
        assert session is not None and tokenizer is not None
        return session, tokenizer

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
            if self._dim is None:  # the graph left the width symbolic: ask it
                self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def _forward(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._load()
        texts = clip_for_model(texts, self.max_length)
        enc = tokenizer.encode_batch([t.lower() for t in texts] if self._lower else texts)
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        return np.asarray(session.run(None, feeds)[0])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        parts = []
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            parts.append(self._forward([texts[i] for i in idx]))
        vecs = np.concatenate(parts).astype(np.float32, copy=False)
        out = np.empty_like(vecs)
        out[order] = vecs
        return np.ascontiguousarray(out)


if __name__ == "__main__":  # `python -m memory.embedders.onnx [int8]`: export the bundled model now
    print(exported_model(bundled_model_path(), "int8" if sys.argv[1:] == ["int8"] else "fp32"))
