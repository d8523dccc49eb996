"""Where bundles are found: the models shipped in the package (``default``, ``fast``), or a folder path."""

from __future__ import annotations

from pathlib import Path

from geovision.errors import ModelBundleError

DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parent / "default"
FAST_BUNDLE_DIR = Path(__file__).resolve().parent / "fast"
BUILTIN = {"default": DEFAULT_BUNDLE_DIR, "fast": FAST_BUNDLE_DIR}


def resolve_bundle(name_or_path: str | Path | None = None) -> Path:
    """Path of a bundle: ``None``/``"default"`` and ``"fast"`` are the shipped models, anything else a folder path."""
    key = "default" if name_or_path is None else str(name_or_path)
    path = BUILTIN.get(key, Path(key))
    if not (path / "model.json").is_file():
        fix = ("train it with scripts/train_default_model.py (default) or configs/pretrain/distill-fast-cpu.yaml "
               "(fast)" if key in BUILTIN
               else "give a bundle folder holding model.json and model.safetensors")
        raise ModelBundleError("no model bundle here", path=path, fix=fix)
    return path
