import math

import pytest
from opacus.accountants import PRVAccountant, RDPAccountant

from trust.errors import ConfigError, PrivacyBudgetError
from trust.privacy import LedgerEntry, PrivacyLedger, epsilon_for, laplace_mechanism, noise_for_epsilon


def entry(release="r1", eps=1.0, delta=1e-5, dataset="adult", **kw):
    base = dict(release=release, mechanism="DP-SGD", epsilon=eps, delta=delta, accountant="rdp", noise_multiplier=1.1,
                sample_rate=0.01, steps=1000, max_grad_norm=1.0, unit_of_privacy="record", adjacency="add/remove",
                dataset=dataset)
    base.update(kw)
    return LedgerEntry(**base)


def test_entry_validates_its_fields():
    with pytest.raises(ConfigError, match="epsilon"):
        entry(eps=0)
    with pytest.raises(ConfigError, match="delta"):
        entry(delta=1.0)
    with pytest.raises(ConfigError, match="unit_of_privacy"):
        entry(unit_of_privacy="row")
    with pytest.raises(ConfigError, match="adjacency"):
        entry(adjacency="swap")


def test_sentence_states_the_whole_guarantee():
    s = entry(eps=2.5).sentence()
    for part in ("(2.5, 1e-05)", "one person's row", "add/remove", "rdp", "noise multiplier 1.1", "1000 steps",
                 "sampling rate 0.01", "adult"):
        assert part in s
    lab = entry(unit_of_privacy="label", adjacency="replace-one", delta=0.0, mechanism="Laplace").sentence()
    assert "features are not protected" in lab and "pure DP" in lab


def test_sequential_composition_per_dataset():
    led = PrivacyLedger()
    led.append(entry("a", 1.0, 1e-6))
    led.append(entry("b", 2.0, 2e-6))
    led.append(entry("c", 0.5, 0.0, dataset="king"))
    eps, delta = led.total("adult")
    assert eps == pytest.approx(3.0) and delta == pytest.approx(3e-6)
    assert led.totals()[("king", "record", "add/remove")] == {"epsilon": 0.5, "delta": 0.0, "releases": 1}
    assert led.total() == (pytest.approx(3.5), pytest.approx(3e-6))


def test_totals_are_kept_apart_per_unit_and_adjacency():
    led = PrivacyLedger([entry("rec", 1.0, 1e-6, dataset="king"),
                         entry("lab", 0.5, 0.0, dataset="king", unit_of_privacy="label", adjacency="replace-one"),
                         entry("lab2", 0.25, 0.0, dataset="king", unit_of_privacy="label", adjacency="replace-one")])
    t = led.totals()
    assert set(t) == {("king", "record", "add/remove"), ("king", "label", "replace-one")}
    assert t[("king", "record", "add/remove")]["epsilon"] == pytest.approx(1.0)
    assert t[("king", "label", "replace-one")] == {"epsilon": pytest.approx(0.75), "delta": 0.0, "releases": 2}


def test_combined_label_statement_counts_an_add_remove_release_twice():
    led = PrivacyLedger([entry("rec", 1.0, 1e-6, dataset="king"),
                         entry("lab", 0.5, 0.0, dataset="king", unit_of_privacy="label", adjacency="replace-one")])
    c = led.combined_label_replace_one("king")
    # replace = remove + add: group privacy of size 2 for the add/remove release
    assert c["epsilon"] == pytest.approx(2 * 1.0 + 0.5)
    assert c["delta"] == pytest.approx((1 + math.exp(1.0)) * 1e-6)
    assert led.combined_label_replace_one("adult") is None  # nothing to combine


def test_legacy_data_sha256_is_dropped_and_never_serialised():
    d = entry().to_dict()
    assert "data_sha256" not in d
    legacy = LedgerEntry.from_dict({**d, "data_sha256": "ab" * 32})
    assert legacy == entry() and "data_sha256" not in legacy.to_dict()


def test_seeded_noise_is_named_in_the_sentence():
    e = entry(noise_source="seeded (not a valid guarantee)")
    assert not e.secure and "SEEDED" in e.sentence() and entry().secure


def test_release_names_are_unique_and_merge_deduplicates():
    led = PrivacyLedger([entry("a")])
    with pytest.raises(ConfigError, match="'a'"):
        led.append(entry("a", 2.0))
    merged = led.merge([entry("a").to_dict(), entry("b")])
    assert [e.release for e in merged] == ["a", "b"] and len(led) == 1
    again = PrivacyLedger.from_list(merged.to_list())
    assert again.entries == merged.entries


def test_budget_check_refuses_to_overspend():
    led = PrivacyLedger([entry("a", 8.0)])
    led.check_budget("adult", 1.9, max_epsilon=10.0)
    led.check_budget("king", 9.9, max_epsilon=10.0)
    with pytest.raises(PrivacyBudgetError, match="'adult'.*spent epsilon=8"):
        led.check_budget("adult", 2.5, max_epsilon=10.0)


@pytest.mark.parametrize("acc_name,acc_cls", [("rdp", RDPAccountant), ("prv", PRVAccountant)])
def test_accountant_helpers_agree_with_opacus(acc_name, acc_cls):
    sigma, q, steps, delta = 1.1, 0.02, 500, 1e-5
    acc = acc_cls()
    for _ in range(steps):
        acc.step(noise_multiplier=sigma, sample_rate=q)
    assert epsilon_for(sigma, q, steps, delta, acc_name) == pytest.approx(acc.get_epsilon(delta), rel=1e-2)


def test_noise_for_epsilon_meets_the_target_and_refuses_impossible_budgets():
    q, steps, delta = 0.02, 500, 1e-5
    sigma = noise_for_epsilon(2.0, q, steps, delta)
    assert epsilon_for(sigma, q, steps, delta) <= 2.0 + 1e-9
    assert epsilon_for(sigma * 0.9, q, steps, delta) > 2.0 * 0.99  # not grossly over-noised
    with pytest.raises(ConfigError, match="epsilon"):
        noise_for_epsilon(0.0, q, steps, delta)
    with pytest.raises(ConfigError, match="sample_rate"):
        noise_for_epsilon(1.0, 1.5, steps, delta)
    with pytest.raises(PrivacyBudgetError, match="no noise multiplier"):
        noise_for_epsilon(1e-9, 1.0, 10**6, delta)


def test_laplace_noise_has_the_stated_scale():
    import numpy as np

    noisy = laplace_mechanism(np.zeros(200_000), sensitivity=2.0, epsilon=0.5, insecure_noise_seed=0)
    b = 2.0 / 0.5
    assert np.var(noisy) == pytest.approx(2 * b * b, rel=0.03)
    assert math.isclose(float(np.median(noisy)), 0.0, abs_tol=0.1)
    with pytest.raises(ConfigError):
        laplace_mechanism([1.0], 1.0, -1.0)
