"""Fold eval-mode BatchNorm layers into the convolutions that feed them (inference only).

A BatchNorm in eval mode is an affine map per channel, so ``bn(conv(x))`` equals a convolution
with scaled weights and a shifted bias. On CPU the separate BatchNorm passes cost about a fifth
of the default model's time (memory-bound). Pairs are found by running the model once with
hooks: a BatchNorm whose input is the very tensor a Conv2d just returned is folded into it.
timm's ``BatchNormAct2d`` keeps its activation (and drop) after folding. The folded copy is
checked against the original on a sample; if they differ, the original is returned.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn

log = logging.getLogger(__name__)
TOLERANCE = 1e-3  # max |difference| of outputs (logits), relative to their scale


def _conv_bn_pairs(model: nn.Module, sample: torch.Tensor) -> list[tuple[str, str]]:
    """(conv name, bn name) pairs where the BatchNorm's input is the Conv2d's output tensor."""
    produced: dict[int, str] = {}
    alive: list[torch.Tensor] = []  # keeps every conv output alive, so no id is reused during the pass
    pairs: list[tuple[str, str]] = []
    hooks = []

    def record(name: str, out: torch.Tensor) -> None:
        alive.append(out)
        produced[id(out)] = name

    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(lambda _m, _inp, out, name=name: record(name, out)))
        elif isinstance(module, nn.BatchNorm2d):
            hooks.append(
                module.register_forward_pre_hook(
                    lambda _m, inp, name=name: (
                        pairs.append((produced[id(inp[0])], name)) if id(inp[0]) in produced else None
                    )
                )
            )
    try:
        with torch.inference_mode():
            model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return pairs


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    scale = (
        bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        if bn.affine
        else 1.0 / torch.sqrt(bn.running_var + bn.eps)
    )
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(bn.running_mean)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.weight = nn.Parameter(conv.weight.detach() * scale.reshape(-1, 1, 1, 1), requires_grad=False)
    conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift, requires_grad=False)


def _after_bn(bn: nn.BatchNorm2d) -> nn.Module:
    """What remains of a folded BatchNorm: nothing, or timm's drop + activation."""
    parts = [getattr(bn, part) for part in ("drop", "act") if isinstance(getattr(bn, part, None), nn.Module)]
    return nn.Sequential(*parts) if parts else nn.Identity()


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def fold_batchnorm(model: nn.Module, sample: torch.Tensor) -> nn.Module:
    """A copy of eval-mode ``model`` with BatchNorms folded into their convolutions (see module docstring).

    ``sample``: an input of the model's shape with varied values (random, in the normalised
    range): the check compares the two models on it. Returns ``model``
    itself, unchanged, when nothing folds or the folded copy disagrees with it.
    """
    model = model.eval()
    pairs = _conv_bn_pairs(model, sample)
    bns = [bn for _, bn in pairs]
    if not pairs or len(set(bns)) != len(bns):
        return model
    folded = copy.deepcopy(model)
    for conv_name, bn_name in pairs:
        bn = folded.get_submodule(bn_name)
        _fold(folded.get_submodule(conv_name), bn)
        _replace(folded, bn_name, _after_bn(bn))
    with torch.inference_mode():
        reference, result = model(sample), folded(sample)
    reference = (
        reference
        if isinstance(reference, (tuple, list))
        else (tuple(reference.values()) if isinstance(reference, dict) else (reference,))
    )
    result = (
        result
        if isinstance(result, (tuple, list))
        else (tuple(result.values()) if isinstance(result, dict) else (result,))
    )
    for ref, out in zip(reference, result, strict=True):
        error = float((ref - out).abs().max() / ref.abs().max().clamp(min=1.0))
        if error > TOLERANCE:
            log.warning("BatchNorm folding changed the outputs (relative error %.2g); using the unfolded model", error)
            return model
    log.info("folded %d BatchNorm layers into their convolutions", len(pairs))
    return folded
