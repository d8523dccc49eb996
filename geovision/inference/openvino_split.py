"""Split an OpenVINO model where bf16 starts: the encoder's full-resolution early layers stay in float32.

OpenVINO's CPU plugin applies its ``bf16`` inference precision hint to the whole graph (it
ignores the per-node ``precise`` marks on the CPU), and bf16 rounding in the early,
full-resolution layers is what changes the masks most. So the model is cut in two OpenVINO
models: ``early`` (the input up to the end of the encoder's third block, timm
EfficientNet/MobileNet layout, compiled in f32) and ``late`` (everything after, compiled in bf16),
with one tensor crossing for every early output the late part reads (the block output and the
decoder's skip features).

Where to cut was measured on the six Joplin images (787 buildings, default model, 512 px chips,
``benchmarks/runtime_accuracy.py``; model-only MP/s on 2 x 512 px batches; bound: no more flipped
mask pixels than the torch ``bf16`` runtime's 2,575 buildings / 3,998 roads):

========================  =======  ===========================  =================
cut after                 MP/s     flipped buildings / roads    object F1 vs fp32
========================  =======  ===========================  =================
(f32 everywhere)          9.4      0 / 0                        0
**block 2** (1/8)         9.4      1,642 / 3,265                -0.18 pts
block 1 (1/4)             14.6     2,458 / 3,994                -0.23 pts
block 0 (1/2)             15.9     3,948 / 7,979 (rejected)     +0.05 pts
========================  =======  ===========================  =================

Block 2's first layer (a 1x1 expansion to 144 channels and a 5x5 depthwise convolution, both at
1/4 resolution) is most of the f32 cost. Cutting after block 1 is 1.5x faster model-only, but
through ``segment_scene`` on the 10240 px benchmark pair (the benchmark's options, one run each)
it did not shorten the run (41.3 s either way, 2026-12-04: not understood yet), so the default
stays at block 2, the fewer flipped pixels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EARLY_LAYERS = r"encoder\.model\.blocks\.2\."  # the stem and blocks 0-2 of a timm EfficientNet encoder


@dataclass
class SplitModel:
    """The two halves of a model: ``late(*early(x))`` is the whole model."""

    early: object  # openvino.Model: input -> the tensors the late part reads
    late: object  # openvino.Model: those tensors -> the model's outputs
    cut_at: str  # the friendly name of the last early operation


def _ancestors(node) -> dict[str, object]:
    seen: dict[str, object] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        name = current.get_friendly_name()
        if name not in seen:
            seen[name] = current
            stack.extend(value.get_source_output().get_node() for value in current.inputs())
    return seen


def split_early_layers(read_model, pattern: str = EARLY_LAYERS) -> SplitModel | None:
    """Cut the model that ``read_model()`` returns (called twice: one copy per half) after the last
    operation whose name matches ``pattern``; None when no operation matches (another layout)."""
    import openvino as ov

    whole = read_model()
    operations = {op.get_friendly_name(): op for op in whole.get_ordered_ops()}
    matching = [name for name in operations if re.search(pattern, name)]
    if not matching:
        return None
    early_ops = _ancestors(operations[matching[-1]])
    crossings = [
        (name, output.get_index())
        for name, op in early_ops.items()
        if op.get_type_name() != "Constant"
        for output in op.outputs()
        if any(target.get_node().get_friendly_name() not in early_ops for target in output.get_target_inputs())
    ]
    early = ov.Model([operations[name].output(index) for name, index in crossings], whole.get_parameters(), "early")
    rest = read_model()
    rest_ops = {op.get_friendly_name(): op for op in rest.get_ordered_ops()}
    parameters = []
    for number, (name, index) in enumerate(crossings):
        output = rest_ops[name].output(index)
        parameter = ov.opset13.parameter(output.get_partial_shape(), output.get_element_type(), name=f"early{number}")
        for target in list(output.get_target_inputs()):
            if target.get_node().get_friendly_name() not in early_ops:
                target.replace_source_output(parameter.output(0))
        parameters.append(parameter)
    return SplitModel(early=early, late=ov.Model(rest.get_results(), parameters, "late"), cut_at=matching[-1])


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin runs bf16 natively here (AVX-512 BF16 or AMX)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
