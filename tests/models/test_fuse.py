"""BatchNorm folding: same outputs, no BatchNorm left, and a safe fallback."""

import torch
from torch import nn

from geovision.models.fuse import fold_batchnorm
from geovision.models.multitask import build_model
from geovision.models.spec import ModelSpec


def _with_running_stats(model: nn.Module) -> nn.Module:
    """Give every BatchNorm non-trivial statistics (a fresh model's are 0/1 and would hide mistakes)."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            if module.affine:
                module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.data.copy_(torch.randn(n, generator=generator) * 0.2)
    return model.eval()


def test_folded_multitask_model_matches_and_has_no_batchnorm():
    spec = ModelSpec(encoder="tu-mobilenetv3_small_050", encoder_weights=None, decoder_channels=(16, 16, 8, 8, 8))
    model = _with_running_stats(build_model(spec, pretrained=False))
    folded = fold_batchnorm(model, torch.rand(1, 3, 64, 64) * 2 - 1)
    assert folded is not model
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the original is untouched
    x = torch.rand(2, 3, 96, 128) * 2 - 1
    with torch.inference_mode():
        expected, result = model(x), folded(x)
    for task in expected:
        torch.testing.assert_close(result[task], expected[task], atol=1e-4, rtol=1e-4)


def test_batchnorm_not_fed_by_a_conv_is_left_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(4)).eval()
    _with_running_stats(model)
    assert fold_batchnorm(model, torch.zeros(1, 3, 8, 8)) is model


class _SharedConv(nn.Module):
    """A conv whose output feeds a BatchNorm *and* a skip path: folding would corrupt the skip."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


def test_folding_that_changes_outputs_falls_back_to_the_original():
    model = _with_running_stats(_SharedConv())
    assert fold_batchnorm(model, torch.rand(1, 3, 8, 8)) is model
