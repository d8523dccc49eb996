"""The architecture of a multi-task model as plain, validated data (stored in bundles and configs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geovision.models.encoders import DEFAULT_ENCODER

DEFAULT_TASKS = ("buildings", "roads")


class ModelSpec(BaseModel):
    """Encoder, decoder layout and tasks of a :class:`~geovision.models.multitask.MultiTaskSegmenter`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: str = DEFAULT_ENCODER
    encoder_depth: int = Field(5, ge=3, le=5)
    encoder_weights: Literal["imagenet"] | None = "imagenet"
    in_channels: int = Field(3, ge=1)
    tasks: tuple[str, ...] = DEFAULT_TASKS
    decoder: Literal["unet", "fpn"] = "unet"
    shared_decoder: bool = False
    decoder_channels: tuple[int, ...] = (128, 64, 32, 16, 16)

    @field_validator("tasks")
    @classmethod
    def _tasks_unique(cls, tasks: tuple[str, ...]) -> tuple[str, ...]:
        if not tasks:
            raise ValueError("at least one task is needed")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"tasks must be unique, got {list(tasks)}")
        bad = [t for t in tasks if not t.isidentifier()]
        if bad:
            raise ValueError(f"task names must be identifiers (letters, digits, _), got {bad}")
        return tasks
