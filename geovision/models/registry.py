"""Where bundles are found: the models shipped in the package, or a folder path.

``default`` (= ``robust``, since 2026-12-03): the ``fast`` architecture trained from ImageNet on every
trainable source of the data registry with sensor-robust augmentation (configs/train/robust-cpu.yaml);
``fast``: the same architecture distilled from ``unet`` (the default until 2026-12-03);
``unet``: EfficientNet-Lite0 with one U-Net decoder per task (the default until 2026-11-29, the
teacher of ``fast``).
"""

from __future__ import annotations

from pathlib import Path

from geovision.errors import ModelBundleError

FAST_BUNDLE_DIR = Path(__file__).resolve().parent / "fast"
UNET_BUNDLE_DIR = Path(__file__).resolve().parent / "unet"
ROBUST_BUNDLE_DIR = Path(__file__).resolve().parent / "robust"
DEFAULT_BUNDLE_DIR = ROBUST_BUNDLE_DIR
BUILTIN = {"default": DEFAULT_BUNDLE_DIR, "robust": ROBUST_BUNDLE_DIR, "fast": FAST_BUNDLE_DIR, "unet": UNET_BUNDLE_DIR}


def resolve_bundle(name_or_path: str | Path | None = None) -> Path:
    """Path of a bundle: ``None`` and the names of :data:`BUILTIN` are the shipped models, anything else a folder."""
    key = "default" if name_or_path is None else str(name_or_path)
    path = BUILTIN.get(key, Path(key))
    if not (path / "model.json").is_file():
        fix = (
            "train it with scripts/train_default_model.py (unet), then scripts/package_fast_model.py (default, fast)"
            if key in BUILTIN
            else "give a bundle folder holding model.json and model.safetensors"
        )
        raise ModelBundleError("no model bundle here", path=path, fix=fix)
    return path
