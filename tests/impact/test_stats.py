import numpy as np
import pytest

from geovision.errors import ConfigError
from geovision.impact.stats import model_ci, model_ci_groups, validation_ci, validation_ci_groups


def test_validation_interval_contains_truth_and_is_seeded():
    rng = np.random.default_rng(0)
    true = rng.gamma(2.0, 50.0, 200)
    pred = true * rng.normal(0.8, 0.1, 200)  # the model misses ~20 %
    a = validation_ci(1000.0, pred, true, seed=3)
    b = validation_ci(1000.0, pred, true, seed=3)
    assert a == b and a.method == "validation" and a.level == 0.95
    assert a.low < a.estimate < a.high
    assert a.low < 1250 < a.high  # 1000 / 0.8
    est, low, high = validation_ci_groups(np.array([0.0, 10.0, 1000.0]), pred, true, seed=3)
    assert est[0] == low[0] == high[0] == 0 and high[2] == pytest.approx(a.high)


def test_model_interval_matches_binomial():
    persons = np.full(400, 5.0)
    p = np.full(400, 0.25)
    interval = model_ci(persons, p, n_boot=4000, seed=1)
    assert interval.estimate == pytest.approx(500.0)
    sd = 5 * np.sqrt(400 * 0.25 * 0.75)
    assert interval.low == pytest.approx(500 - 1.96 * sd, abs=0.3 * sd)
    assert interval.high == pytest.approx(500 + 1.96 * sd, abs=0.3 * sd)
    certain = model_ci(persons, np.ones(400))
    assert certain.low == certain.high == certain.estimate == 2000
    est, low, high = model_ci_groups(persons, p, np.repeat([0, 2], 200), n_groups=3, n_boot=500)
    assert est[1] == low[1] == high[1] == 0 and est[0] == pytest.approx(250)


def test_bad_samples_raise():
    with pytest.raises(ConfigError):
        validation_ci(10.0, np.zeros(5), np.ones(5))
    with pytest.raises(ConfigError):
        validation_ci(10.0, np.ones(5), np.ones(4))
    with pytest.raises(ConfigError):
        model_ci(np.ones(3), np.array([0.5, 1.5, 0.2]))
    with pytest.raises(ConfigError):
        model_ci(np.ones(3), np.ones(3), n_boot=10)
