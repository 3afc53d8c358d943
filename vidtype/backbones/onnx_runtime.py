"""Export a backbone to ONNX once (cached on disk) and run it with ONNX Runtime on the CPU.

The graph is exported from the torch module by the TorchScript exporter (`dynamo=False`: the dynamo exporter needs
onnxscript) with a dynamic batch axis and a fixed S x S input. The file lives at
`$VIDTYPE_CACHE/onnx/<name>-<hash>.onnx` (default `~/.cache/vidtype/onnx/`), where the hash covers the weights,
the model's source file and the export settings, so changed weights or code never reuse a stale graph. It is
written atomically (temporary file + rename); when the cache is not writable the graph is kept in memory.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the export itself changes
OPSET = 17
INPUT, OUTPUT = "images", "features"


def available() -> bool:
    """Whether onnxruntime can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def cpu_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def cache_dir() -> Path:
    """Where exported graphs are kept: $VIDTYPE_CACHE/onnx, else ~/.cache/vidtype/onnx."""
    root = os.environ.get("VIDTYPE_CACHE")
    return (Path(root) if root else Path("~/.cache/vidtype")).expanduser() / "onnx"


def fingerprint(module: torch.nn.Module, input_size: int) -> str:
    """Hash of the module's tensors, its source file and the export settings (16 hex digits)."""
    h = hashlib.sha256(f"v{EXPORT_VERSION} opset{OPSET} size{input_size} {type(module).__qualname__}".encode())
    source = inspect.getsourcefile(type(module))
    if source:
        h.update(Path(source).read_bytes())
    for name, t in sorted([*module.named_parameters(), *module.named_buffers()], key=lambda kv: kv[0]):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def export(module: torch.nn.Module, input_size: int, f) -> None:
    """Export `module` (N,3,S,S) -> (N,D) to `f` (path or binary file), batch axis dynamic."""
    module = module.to("cpu").eval()
    dummy = torch.zeros(1, 3, input_size, input_size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about the (fixed) SAME padding, exporter deprecation notes
        torch.onnx.export(module, (dummy,), f, dynamo=False, opset_version=OPSET, input_names=[INPUT],
                          output_names=[OUTPUT], dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
                          do_constant_folding=True)


def exported(name: str, module: torch.nn.Module, input_size: int) -> str | bytes:
    """Path of the cached ONNX graph of `module` (exporting it on first use), or the graph's bytes when the cache
    directory cannot be written."""
    path = cache_dir() / f"{name}-{fingerprint(module, input_size)}.onnx"
    if path.is_file():
        return str(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
    except OSError as e:
        log.warning("ONNX cache %s not writable (%s); keeping the exported graph in memory", path.parent, e)
        buf = io.BytesIO()
        export(module, input_size, buf)
        return buf.getvalue()
    try:
        with os.fdopen(fd, "wb") as f:
            export(module, input_size, f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("exported %s to %s", name, path)
    return str(path)


class OrtRunner:
    """An ONNX Runtime CPU session: (N,3,S,S) float tensor -> (N,D) float32 CPU tensor."""

    def __init__(self, model: str | bytes, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or cpu_cores()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only
        # Spinning worker threads keep the cores busy after a call and slow down the decoding and the torch
        # head that run next on the same two cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        return torch.from_numpy(self.session.run([OUTPUT], {INPUT: x})[0])


def runner(name: str, module: torch.nn.Module, input_size: int, threads: int | None = None) -> OrtRunner:
    """An `OrtRunner` for `module`, from the cache (a cached file that fails to load is exported again)."""
    model = exported(name, module, input_size)
    try:
        return OrtRunner(model, threads)
    except Exception as e:
        if not isinstance(model, str):
            raise
        log.warning("cached ONNX graph %s unusable (%s); exporting again", model, e)
        Path(model).unlink(missing_ok=True)
        return OrtRunner(exported(name, module, input_size), threads)
