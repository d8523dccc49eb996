"""trainer.max_minutes: training stops at a wall-clock deadline (the adapt budget holds on a busy machine)."""

from __future__ import annotations

import time

from tests.train.test_engine import _batch, _trainer


def test_fit_stops_after_the_step_that_passes_the_deadline():
    trainer = _trainer()
    batches = iter(lambda: _batch(), None)
    trainer.deadline = time.monotonic() + 3600
    trainer.fit(batches, steps=2)
    assert trainer.step == 2  # far from the deadline: every step
    trainer.deadline = time.monotonic() - 1
    trainer.fit(batches, steps=50)
    assert trainer.step == 3  # past it: one more step, then stop
    assert not _trainer().past_deadline()  # no deadline: never


def test_the_limit_is_a_trainer_option():
    from geovision.train.config import TrainerConfig

    assert TrainerConfig().max_minutes is None and TrainerConfig(max_minutes=0.5).max_minutes == 0.5
