"""Runtimes: run a multi-task segmentation model on a batch, as fast as the hardware allows.

A runtime maps a float32 batch ``[B, C, H, W]`` (already normalised) to
``{task: probabilities float32 [B, H, W]}``. Choices:

- ``fp32``: eager PyTorch in float32 (the reference);
- ``bf16``: bfloat16 autocast (fp32 weights; convolutions and matmuls in bf16), channels_last
  (AMX/AVX512-BF16 CPUs, Ampere+ GPUs);
- ``fp16``: float16 autocast on CUDA;
- ``compile``: ``torch.compile`` of the bf16/fp32 model;
- ``onnx``: export to ONNX and run with onnxruntime (float32);
- ``openvino``: the model converted by OpenVINO and run by its CPU plugin; on CPUs with native bf16
  (AVX-512 BF16, AMX) the encoder's early layers in float32 and the rest in bf16 (``openvino-mixed``:
  fewer flipped mask pixels than ``bf16``, 1.5x OpenVINO's float32), elsewhere float32 (the same
  masks as ``fp32``: probabilities within 1e-5; its fused depthwise kernels are several times faster).

``auto`` picks ``openvino`` on the CPU (where the package is installed), bf16 on GPUs that support
it, fp16 on older GPUs, else fp32. Torch
runtimes first fold BatchNorm layers into their convolutions (geovision/models/fuse.py). On the
CPU, glibc is told to keep freed memory for reuse (geovision/inference/allocator.py).
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch
from torch import nn

from geovision.errors import ConfigError
from geovision.types import RUNTIMES

log = logging.getLogger(__name__)


class Runtime(Protocol):
    """Anything that turns a normalised batch into per-task probabilities."""

    name: str
    tasks: tuple[str, ...]

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]: ...


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device (cpu, cuda, cuda:N, mps) must exist."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as error:
        raise ConfigError(f"unknown device {device!r}", fix="use auto, cpu, cuda, cuda:N or mps") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available", fix="use device: auto or cpu")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {device!r} requested but MPS is not available", fix="use device: auto or cpu")
    return chosen


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 matmuls run natively (not emulated) on ``device``."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def resolve_runtime_name(name: str, device: torch.device) -> str:
    """Turn ``auto`` into a concrete runtime for ``device``; reject impossible choices."""
    if name not in RUNTIMES:
        raise ConfigError(f"unknown runtime `{name}`", fix=f"use one of {', '.join(RUNTIMES)}")
    if name == "auto":
        if device.type == "cpu" and openvino_available():
            return "openvino"
        if bf16_supported(device):
            return "bf16"
        return "fp16" if device.type == "cuda" else "fp32"
    if name == "openvino" and device.type != "cpu":
        raise ConfigError("runtime openvino runs on the CPU", fix="use --device cpu, or --runtime auto on a GPU")
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("runtime fp16 needs a CUDA GPU", fix="use --runtime bf16 or fp32 on this machine")
    return name


class TasksAsTuple(nn.Module):
    """Wrap a ``dict``-returning multi-task model so it returns a tuple (for export/compile)."""

    def __init__(self, model: nn.Module, tasks: Sequence[str]):
        super().__init__()
        self.model = model
        self.tasks = tuple(tasks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return tuple(out[task] for task in self.tasks)


class Float32(nn.Module):
    """Run ``module`` in float32 inside an autocast region (inputs cast up, autocast off)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return self.module(x.float())


EARLY_FP32_BLOCKS = 2


def keep_early_layers_fp32(module: nn.Module) -> int:
    """Wrap the encoder's stem and first blocks (timm EfficientNet/MobileNet layout) in :class:`Float32`.

    The full-resolution early layers are where bf16 rounding changes the masks most: on Joplin
    tile 0, keeping the stem and the first two blocks in fp32 cut the mask pixels that differ from
    fp32 about threefold (521 -> 163 buildings, 2186 -> 783 roads) for about 17 % of bf16's speed.
    Returns how many modules were wrapped (0 for other encoder layouts, left as they are).
    """
    wrapped = 0
    for owner in module.modules():
        if isinstance(getattr(owner, "conv_stem", None), nn.Module) and isinstance(
            getattr(owner, "blocks", None), nn.Sequential
        ):
            owner.conv_stem = Float32(owner.conv_stem)
            wrapped += 1
            for index in range(min(EARLY_FP32_BLOCKS, len(owner.blocks))):
                owner.blocks[index] = Float32(owner.blocks[index])
                wrapped += 1
            break
    return wrapped


def cast_autocast_weights(module: nn.Module, dtype: torch.dtype) -> int:
    """Store once, in ``dtype``, the convolution and linear weights autocast would cast on every call.

    Autocast runs these layers in ``dtype`` anyway, so the results are bit-identical; the per-call
    weight copies (about 5 % of a bf16 forward on the CPU) go away. Layers inside :class:`Float32`
    wrappers keep their float32 weights. Returns how many layers were cast.
    """
    cast = 0
    for child in module.children():
        if isinstance(child, Float32):
            continue
        if isinstance(child, (nn.Conv2d, nn.Linear)):
            child.to(dtype)
            cast += 1
        else:
            cast += cast_autocast_weights(child, dtype)
    return cast


class TorchRuntime:
    """Eager (optionally compiled) PyTorch with a chosen precision and memory format."""

    def __init__(
        self,
        model: nn.Module,
        tasks: Sequence[str],
        *,
        device: torch.device,
        precision: Literal["fp32", "bf16", "fp16"] = "fp32",
        channels_last: bool = True,
        compile_model: bool = False,
        bands: int = 3,
        fold_bn: bool = True,
    ):
        from geovision.models.fuse import fold_batchnorm

        self.tasks = tuple(tasks)
        self.device = device
        self.autocast = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        base = TasksAsTuple(model, tasks).eval()
        module = base
        if fold_bn:
            sample = torch.rand(1, bands, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
            module = fold_batchnorm(base, sample)
        if self.autocast is not None:
            module = copy.deepcopy(base) if module is base else module  # never modify the caller's model
            keep_early_layers_fp32(module)
            cast_autocast_weights(module, self.autocast)
        module = module.to(device=device, memory_format=self.memory_format)
        self.module = torch.compile(module, dynamic=False) if compile_model else module
        self.name = ("compile-" if compile_model else "") + precision

    @torch.inference_mode()
    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device, dtype=torch.float32)
        x = x.contiguous(memory_format=self.memory_format)
        with torch.autocast(self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None):
            logits = self.module(x)
        return {
            task: torch.sigmoid(out.float())[:, 0].cpu().numpy() for task, out in zip(self.tasks, logits, strict=True)
        }


class OnnxRuntime:
    """The model exported to ONNX (float32) and run by onnxruntime."""

    def __init__(
        self,
        model: nn.Module,
        tasks: Sequence[str],
        *,
        chip_px: int,
        bands: int,
        onnx_path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ):
        import onnxruntime as ort

        self.tasks = tuple(tasks)
        self.name = "onnx"
        path = Path(onnx_path) if onnx_path else Path(tempfile.mkdtemp(prefix="geovision-onnx-")) / "model.onnx"
        if not path.exists():
            export_onnx(model, tasks, path, chip_px=chip_px, bands=bands)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), options, providers=ort.get_available_providers())

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, {"image": np.ascontiguousarray(batch, dtype=np.float32)})
        return {task: _sigmoid(out[:, 0]) for task, out in zip(self.tasks, outputs, strict=True)}


def openvino_available() -> bool:
    """Whether the ``openvino`` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def module_digest(module: nn.Module, *extra: object) -> str:
    """A content key of ``module``'s weights (names, shapes, values) and ``extra`` (e.g. the input shape)."""
    import hashlib

    digest = hashlib.sha256(repr(extra).encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(repr(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:20]


class OpenVinoRuntime:
    """The model converted by OpenVINO and run on its CPU plugin.

    ``precision``: ``f32`` (the same masks as eager fp32), ``bf16`` (OpenVINO's bf16 hint on the whole
    graph), or ``mixed``: the encoder's early layers in f32 and the rest in bf16
    (:mod:`geovision.inference.openvino_split`; ``f32`` where the model has another layout).
    One compiled model per chip size, each with a dynamic batch axis. The
    converted model (OpenVINO IR) is kept under ``cache_dir`` (default ``GEOVISION_OPENVINO_CACHE``,
    else ``<GEOVISION_CACHE>/openvino``), keyed by the weights' content, so a machine converts a
    given model once (~10 s) and then only compiles it (OpenVINO's ``CACHE_DIR`` keeps that blob too).
    """

    def __init__(
        self,
        model: nn.Module,
        tasks: Sequence[str],
        *,
        bands: int,
        precision: str = "f32",
        threads: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ):
        from geovision.io.paths import cache_root

        self.tasks = tuple(tasks)
        self.precision = precision
        self.name = "openvino" if precision == "f32" else f"openvino-{precision}"
        self.bands = bands
        self.module = TasksAsTuple(copy.deepcopy(model), tasks).eval().float().cpu()
        static_same_padding(self.module)
        default = os.environ.get("GEOVISION_OPENVINO_CACHE") or cache_root() / "openvino"
        self.cache_dir = Path(cache_dir or default)
        self.config = {
            "INFERENCE_PRECISION_HINT": "f32" if precision == "mixed" else precision,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()),
            "CACHE_DIR": str(self.cache_dir / "compiled"),
        }
        self._compiled: dict[tuple[int, int], object] = {}

    def converted_path(self, height: int, width: int) -> Path:
        """The model's OpenVINO IR for ``height`` x ``width`` chips, converted and saved on first use."""
        import openvino as ov

        from geovision.io.atomic import atomic_output

        key = module_digest(self.module, self.bands, height, width, ov.__version__, tuple(self.tasks))
        folder = self.cache_dir / key
        if not (folder / "model.xml").exists():
            example = torch.zeros(1, self.bands, height, width)
            with torch.no_grad():
                converted = ov.convert_model(
                    self.module, example_input=example, input=[(-1, self.bands, height, width)]
                )
            with atomic_output(folder, overwrite=True) as tmp:
                tmp.mkdir(parents=True)
                ov.save_model(converted, str(tmp / "model.xml"), compress_to_fp16=False)
        return folder / "model.xml"

    def _model_for(self, height: int, width: int):
        key = (height, width)
        if key not in self._compiled:
            self._compiled[key] = self._compile(str(self.converted_path(height, width)))
        return self._compiled[key]

    def _compile(self, path: str):
        import openvino as ov

        from geovision.inference.openvino_split import split_early_layers

        core = ov.Core()
        halves = split_early_layers(lambda: core.read_model(path)) if self.precision == "mixed" else None
        if halves is None:
            return core.compile_model(path, "CPU", self.config)
        early = core.compile_model(halves.early, "CPU", self.config)
        late = core.compile_model(halves.late, "CPU", {**self.config, "INFERENCE_PRECISION_HINT": "bf16"})

        def run(batch: np.ndarray):
            features = early(batch)
            return late([features[index] for index in range(len(halves.early.outputs))])

        return run

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        outputs = self._model_for(*batch.shape[2:])(batch)
        return {task: _sigmoid(outputs[index][:, 0]) for index, task in enumerate(self.tasks)}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * x.astype(np.float32)))).astype(np.float32)


class StaticSamePad(nn.Module):
    """A timm ``Conv2dSame`` (TensorFlow "SAME" padding computed from the input size on every call)
    as a fixed zero pad and a plain convolution: equal for inputs whose size the stride divides,
    which holds at every layer for the engine's chips (multiples of 32)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        pads = [
            max((k - 1) * d + 1 - s, 0) for k, s, d in zip(conv.kernel_size, conv.stride, conv.dilation, strict=True)
        ]
        self.pad = nn.ZeroPad2d((pads[1] // 2, pads[1] - pads[1] // 2, pads[0] // 2, pads[0] - pads[0] // 2))
        self.conv = nn.Conv2d(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            0,
            conv.dilation,
            conv.groups,
            conv.bias is not None,
        )
        self.conv.load_state_dict(conv.state_dict())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


def static_same_padding(module: nn.Module) -> int:
    """Replace timm's dynamic-"SAME" convolutions in ``module`` by :class:`StaticSamePad` (in place).

    Exported graphs then hold no shape arithmetic (Shape/Gather/Ceil/Pad per layer), which
    onnxruntime's quantisation tools cannot handle. Returns how many layers were replaced.
    """
    from timm.layers import Conv2dSame

    replaced = 0
    for name, child in list(module.named_children()):
        if isinstance(child, Conv2dSame):
            setattr(module, name, StaticSamePad(child))
            replaced += 1
        else:
            replaced += static_same_padding(child)
    return replaced


def export_onnx(
    model: nn.Module, tasks: Sequence[str], path: str | os.PathLike[str], *, chip_px: int, bands: int, opset: int = 17
) -> Path:
    """Export ``model`` to ONNX with dynamic batch and chip axes (chips: multiples of 32); outputs are
    named after the tasks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = TasksAsTuple(copy.deepcopy(model), tasks).eval().float().cpu()
    static_same_padding(module)
    example = torch.zeros(1, bands, chip_px, chip_px)
    torch.onnx.export(
        module,
        (example,),
        str(path),
        input_names=["image"],
        output_names=list(tasks),
        dynamic_axes={name: {0: "batch", 2: "height", 3: "width"} for name in ("image", *tasks)},
        opset_version=opset,
        dynamo=False,
    )
    return path


def build_runtime(
    model: nn.Module,
    tasks: Sequence[str],
    *,
    name: str = "auto",
    device: str = "auto",
    chip_px: int = 512,
    bands: int = 3,
    onnx_path: str | os.PathLike[str] | None = None,
) -> Runtime:
    """Build the runtime called ``name`` (see module docstring) for ``model``."""
    torch_device = pick_device(device)
    resolved = resolve_runtime_name(name, torch_device)
    if torch_device.type == "cpu":
        from geovision.inference.allocator import tune_malloc

        tune_malloc()
    log.info("runtime %s on %s", resolved, torch_device)
    if resolved == "onnx":
        return OnnxRuntime(model, tasks, chip_px=chip_px, bands=bands, onnx_path=onnx_path)
    if resolved == "openvino":
        from geovision.inference.openvino_split import cpu_has_bf16

        return OpenVinoRuntime(model, tasks, bands=bands, precision="mixed" if cpu_has_bf16() else "f32")
    if resolved == "compile":
        precision = "bf16" if bf16_supported(torch_device) else "fp32"
        return TorchRuntime(model, tasks, device=torch_device, precision=precision, compile_model=True, bands=bands)
    return TorchRuntime(model, tasks, device=torch_device, precision=resolved, bands=bands)
