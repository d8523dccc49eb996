"""Unlabelled imagery for pretraining: scenes from paths or globs (optionally paired dates) and
a stream of two-view samples ``{image, valid, image_pair, valid_pair, scene}``."""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from geovision.data.images import PlainImage, gsd_m_of, open_geotiff
from geovision.data.samples import ChipReader, RandomWindows
from geovision.data.scenes import Scene
from geovision.errors import AlignmentError, ConfigError, MissingFileError
from geovision.pretrain.config import UnlabelledSource
from geovision.pretrain.views import ViewAugment

GEOTIFF_SUFFIXES = {".tif", ".tiff"}


def open_unlabelled(
    path: Path, *, gsd_m: float | None, bands: list[int] | None, weight: float = 1.0, name: str | None = None
) -> Scene:
    """A scene without labels: a GeoTIFF (GSD from its georeference unless given) or a plain image."""
    if not path.is_file():
        raise MissingFileError("image does not exist", path=path, fix="check the path in the pretraining config")
    if path.suffix.lower() in GEOTIFF_SUFFIXES and gsd_m is None:
        source = open_geotiff(path, bands=bands)
        return Scene(name or path.stem, source, {}, gsd_m_of(source), weight)
    if gsd_m is None:
        raise ConfigError(
            f"{path.name} has no georeference: its gsd_m is needed", path=path, fix="set gsd_m on the source"
        )
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        return Scene(name or path.stem, open_geotiff(path, bands=bands), {}, gsd_m, weight)
    return Scene(name or path.stem, PlainImage(path, bands=bands), {}, gsd_m, weight)


def unlabelled_scenes(
    sources: Sequence[UnlabelledSource], resolve: Callable[[str], Path]
) -> list[tuple[Scene, Scene | None]]:
    """``(scene, paired scene or None)`` for every image of every source (globs expanded, sorted)."""
    scenes: list[tuple[Scene, Scene | None]] = []
    for source in sources:
        pattern = resolve(source.image)
        paths = sorted(Path(p) for p in glob.glob(str(pattern))) if glob.has_magic(str(pattern)) else [pattern]
        if not paths:
            raise MissingFileError("no image matches the pattern", path=pattern, fix="check the glob")
        if source.pair is not None and len(paths) != 1:
            raise ConfigError(
                f"pair needs a single image, {source.image} matches {len(paths)}",
                fix="list paired images one source at a time",
            )
        for path in paths:
            scene = open_unlabelled(
                path,
                gsd_m=source.gsd_m,
                bands=source.bands,
                weight=source.weight,
                name=source.name if len(paths) == 1 else None,
            )
            pair = None
            if source.pair is not None:
                pair = open_unlabelled(resolve(source.pair), gsd_m=source.gsd_m, bands=source.bands)
                if (pair.width, pair.height) != (scene.width, scene.height):
                    raise AlignmentError(
                        f"paired images differ in size ({scene.width}x{scene.height} vs {pair.width}x{pair.height})",
                        path=resolve(source.pair),
                        fix="align the pair onto one grid first (geovision align)",
                    )
            scenes.append((scene, pair))
    return scenes


class TwoViewWindows(RandomWindows):
    """``length`` random windows, each returned as two augmented views of one place.

    Where a scene has a pair, the second view comes from the other date with ``pair_prob``.
    """

    def __init__(
        self,
        scenes: Sequence[tuple[Scene, Scene | None]],
        reader: ChipReader,
        *,
        length: int,
        views: ViewAugment,
        seed: int = 0,
        pair_prob: float = 0.5,
        min_valid: float = 0.5,
    ):
        super().__init__([s for s, _ in scenes], reader, length=length, seed=seed, min_valid=min_valid)
        self.pairs = [p for _, p in scenes]
        self.views = views
        self.pair_prob = pair_prob

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng((self.seed, index))
        choice = int(rng.choice(len(self.scenes), p=self.probs))
        scene = self.scenes[choice]
        for _ in range(self.tries):
            window = self._window(scene, rng)
            first = self.reader(scene, window)
            if float(first["valid"].float().mean()) >= self.min_valid:
                break
        pair = self.pairs[choice]
        second = self.reader(pair, window) if pair is not None and rng.random() < self.pair_prob else first
        image, valid = self.views(first["image"], first["valid"], rng)
        image_pair, valid_pair = self.views(second["image"], second["valid"], rng)
        return {"image": image, "valid": valid, "image_pair": image_pair, "valid_pair": valid_pair, "scene": scene.name}
