"""The adaptive defaults batch_size="auto" / epochs="auto": the documented rule, DP count only, overrides, errors."""

import math

import numpy as np
import pandas as pd
import pytest

from trust.data import infer_schema
from trust.errors import ConfigError
from trust.synth.dp_metadata import release_histograms
from trust.synth.model import CTABGANPlus
from trust.synth.plan import auto_schedule, plan_privacy, resolve_schedule

SMALL = dict(generator_dims=(16,), critic_dims=(16,), aux_dims=(8,), noise_dim=4, aux_epochs=1, verbose=False)


def _documented(n):
    """The rule as CTABGANPlus's docstring states it, computed here without the library."""
    batch = min(500, max(50, 10 * math.floor(n / 300)))
    steps_per_epoch = max(1, round(n / min(batch, n)))
    return batch, max(150, math.ceil(4500 / steps_per_epoch))


def _table(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"x": rng.normal(2.0 * y, 1.0),
                         "c": np.where(rng.random(n) < 0.8, np.where(y == 1, "a", "b"), "c"),
                         "y": np.where(y == 1, "yes", "no")})


def _schema(df):
    return infer_schema(df, target="y", categorical=["c", "y"], categories={"c": ["a", "b", "c"], "y": ["no", "yes"]},
                        bounds={"x": (-6.0, 8.0)}).as_declared()


@pytest.mark.parametrize("n", [10, 100, 1000, 1499, 2423, 3000, 9999, 14999, 15000, 19536, 100000])
@pytest.mark.parametrize("epsilon", [None, 1.0, 3.0])
def test_the_auto_schedule_follows_the_documented_formula(n, epsilon):
    assert auto_schedule(n, epsilon, 1e-5) == _documented(n)


def test_the_auto_schedule_gives_the_expected_figures_for_a_few_tables():
    assert auto_schedule(19536) == (500, 150)     # Adult's training split keeps the paper's settings
    assert auto_schedule(3000) == (100, 150)      # the bundled small table: 30 steps an epoch
    assert auto_schedule(2423) == (80, 150)
    assert auto_schedule(1000) == (50, 225)       # smallest batch, 20 steps an epoch: epochs raised to 4,500 steps
    assert auto_schedule(100) == (50, 2250)


def test_an_explicit_batch_with_auto_epochs_keeps_the_step_floor_for_that_batch():
    s = resolve_schedule(CTABGANPlus(batch_size=500, epochs="auto"), 3000)
    assert (s.batch_size, s.epochs) == (500, 750)   # 6 steps an epoch x 750 = 4,500


def test_explicit_integers_override_auto_in_a_fit():
    df = _table(300)
    m = CTABGANPlus(epochs=1, batch_size=64, random_state=0, **SMALL).fit(df, _schema(df))
    assert (m.batch_size_, m.epochs_, m.steps_) == (64, 1, 5)
    assert "(set)" in m.schedule_.reason


def test_the_resolved_settings_are_in_the_privacy_report_and_survive_save_and_load(tmp_path):
    df = _table(300)
    m = CTABGANPlus(epochs=1, random_state=0, **SMALL).fit(df, _schema(df))
    rep = m.privacy_report()
    assert (rep["batch_size"], rep["epochs"]) == (50, 1) and rep["schedule"].startswith("small table: batch 50")
    m.save(tmp_path / "m")
    assert CTABGANPlus.load(tmp_path / "m").schedule_ == m.schedule_


def test_under_dp_tables_with_equal_dp_counts_get_the_same_schedule_though_exact_counts_would_differ():
    big = _table(3000, seed=4)
    small = big.iloc[:2999]
    assert auto_schedule(3000)[0] != auto_schedule(2999)[0]    # the exact counts would give 100 and 90
    schema = _schema(big)
    counts = {}
    for seed in range(40):
        for name, df in (("small", small), ("big", big)):
            rel, _ = release_histograms(df, schema, 0.8, insecure_noise_seed=seed)
            counts.setdefault(name, {})[seed] = int(round(rel.n_rows))
    pairs = [(s, t) for s in counts["small"] for t in counts["big"] if counts["small"][s] == counts["big"][t]]
    assert pairs, "no pair of releases with equal DP counts"
    s, t = pairs[0]
    kw = dict(epochs=1, epsilon=4.0, delta=1e-5, metadata_epsilon_fraction=0.2, random_state=0, **SMALL)
    a = CTABGANPlus(insecure_noise_seed=s, **kw).fit(small, schema)
    b = CTABGANPlus(insecure_noise_seed=t, **kw).fit(big, schema)
    assert a.schedule_ == b.schedule_ == a.plan_.schedule
    assert a.batch_size_ == auto_schedule(counts["small"][s])[0]


def test_under_dp_auto_epochs_are_planned_from_the_dp_count():
    settings = CTABGANPlus(epsilon=3.0, delta=1e-5, accountant="rdp")
    plan = plan_privacy(settings, 1000, use_aux=False)
    assert (plan.schedule.batch_size, plan.schedule.epochs) == (50, 225)
    assert plan.critic.steps == 225 * 20 and plan.critic.sample_rate == pytest.approx(50 / 1000)


@pytest.mark.parametrize("name", ["batch_size", "epochs"])
@pytest.mark.parametrize("bad", ["big", "AUTO", 0, -3, 2.5, True, None])
def test_a_bad_batch_size_or_epochs_gives_a_one_line_config_error(name, bad):
    df = _table(50)
    with pytest.raises(ConfigError, match=f"{name}=.* must be a positive integer or 'auto'") as e:
        CTABGANPlus(**{name: bad}, **SMALL).fit(df)
    assert "\n" not in str(e.value)
