"""The adaptive defaults batch_size="auto" / epochs="auto": the documented rule, DP count only, overrides, errors."""

import math

import pytest

from trust.errors import ConfigError
from trust.synth.dp_metadata import release_histograms
from trust.synth.model import CTABGANPlus
from trust.synth.plan import auto_schedule, plan_privacy, resolve_schedule

from tests.unit._synth_tiny import SMALL, table as _table, declared_schema as _schema


def _documented(n, critic_epsilon=None):
    """The rule as CTABGANPlus's docstring states it, computed here without the library."""
    steps = 4500 if critic_epsilon is None else max(1, min(4500, math.floor((n * critic_epsilon / 140) ** 2)))
    batch = min(500, max(50, 10 * math.floor(150 * n / (10 * steps))))
    steps_per_epoch = max(1, round(n / min(batch, n)))
    return batch, max(150, math.ceil(steps / steps_per_epoch))


@pytest.mark.parametrize("n", [10, 100, 1000, 1499, 2423, 3000, 9999, 14999, 15000, 19536, 100000])
@pytest.mark.parametrize("critic_epsilon", [None, 0.1, 0.5, 1.5, 4.5, 50.0])
def test_the_auto_schedule_follows_the_documented_formula(n, critic_epsilon):
    assert auto_schedule(n, critic_epsilon) == _documented(n, critic_epsilon)


def test_the_auto_schedule_gives_the_expected_figures_for_a_few_tables():
    assert auto_schedule(19536) == (500, 150)     # Adult's training split keeps the paper's settings
    assert auto_schedule(3000) == (100, 150)      # the small table without DP: 30 steps an epoch, 4,500 steps
    assert auto_schedule(3000, 1.5) == (430, 150)  # epsilon 3 (critic 1.5): 1,033 steps allowed, 7 an epoch
    assert auto_schedule(3000, 0.5) == (500, 150)  # epsilon 1: the paper's batch, never fewer than 150 epochs
    assert auto_schedule(1000) == (50, 225)       # smallest batch, 20 steps an epoch: epochs raised to 4,500 steps
    assert auto_schedule(100) == (50, 2250)


@pytest.mark.parametrize("n", [15000, 19536, 40000])
def test_adult_sized_tables_keep_batch_500_and_150_epochs_at_every_budget(n):
    for critic_epsilon in (None, 0.01, 0.1, 0.5, 1.5, 5.0, 100.0):
        assert auto_schedule(n, critic_epsilon) == (500, 150)


@pytest.mark.parametrize("n,critic_epsilon", [(3000, 1.5), (5000, 1.5), (3000, 2.25)])
def test_under_a_binding_dp_bound_the_critic_signal_to_noise_stays_near_adults(n, critic_epsilon):
    from trust.privacy.accountants import noise_for_epsilon

    batch, epochs = auto_schedule(n, critic_epsilon)
    steps = epochs * max(1, round(n / batch))
    sigma = noise_for_epsilon(critic_epsilon, batch / n, steps, 5e-6, "rdp")
    assert 25 <= batch / sigma <= 45     # Adult at epsilon 1, 150 epochs: 34 (the calibration point)


def test_an_explicit_batch_with_auto_epochs_keeps_the_step_floor_for_that_batch():
    s = resolve_schedule(CTABGANPlus(batch_size=500, epochs="auto"), 3000)   # no DP
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
    big = _table(2044, seed=4)
    small = big.iloc[:2043]
    # epsilon 4 with a target: critic share 2.0; by the exact counts the batches would be 360 and 350
    assert auto_schedule(2043, 2.0)[0] != auto_schedule(2044, 2.0)[0]
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
    assert a.batch_size_ == auto_schedule(counts["small"][s], 2.0)[0]


def test_under_dp_auto_epochs_are_planned_from_the_dp_count_and_the_critics_share():
    settings = CTABGANPlus(epsilon=3.0, delta=1e-5, accountant="rdp").privacy_settings()
    plan = plan_privacy(settings, 1000, use_aux=False)   # critic share 3 - 0.6 = 2.4: at most 293 steps
    assert (plan.schedule.batch_size, plan.schedule.epochs) == (500, 150)
    assert plan.critic.steps == 150 * 2 and plan.critic.sample_rate == pytest.approx(0.5)
    assert plan.schedule.reason == "the paper's defaults: batch 500, 150 epochs, 300 steps"
    small = plan_privacy(settings, 3000, use_aux=True)   # critic share 1.5: at most 1,033 steps
    assert small.schedule.reason == "small table and DP budget: batch 430, 150 epochs, 1,050 steps"


@pytest.mark.parametrize("name", ["batch_size", "epochs"])
@pytest.mark.parametrize("bad", ["big", "AUTO", 0, -3, 2.5, True, None])
def test_a_bad_batch_size_or_epochs_gives_a_one_line_config_error(name, bad):
    df = _table(50)
    with pytest.raises(ConfigError, match=f"{name}=.* must be a positive integer or 'auto'") as e:
        CTABGANPlus(**{name: bad}, **SMALL).fit(df)
    assert "\n" not in str(e.value)


def test_the_privacy_planner_takes_the_frozen_privacy_settings_never_the_estimator():
    model = CTABGANPlus(epsilon=3.0, delta=1e-5, accountant="rdp")
    with pytest.raises(TypeError, match="PrivacySettings"):
        plan_privacy(model, 1000, use_aux=False)
    settings = model.privacy_settings()
    with pytest.raises(Exception):
        settings.epsilon = 5.0   # frozen
    assert plan_privacy(settings, 1000, use_aux=False).critic.steps == 300
