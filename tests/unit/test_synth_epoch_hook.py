"""CTABGANPlus.fit(on_epoch_end=...): mid-fit sampling for time-to-quality curves, without changing training."""

import numpy as np
import pandas as pd
import pytest
import torch

from trust.data import infer_schema
from trust.errors import ConfigError
from trust.synth.model import CTABGANPlus

SMALL = dict(generator_dims=(64, 64), critic_dims=(64, 64), aux_dims=(32, 32), noise_dim=16, verbose=False)


def _sampling_callback(seen):
    def cb(view, epoch):
        seen.append(epoch)
        view.sample(60, random_state=epoch)
        torch.randn(7)          # a careless callback drawing from torch's global generator
        np.random.rand(3)
    return cb


def _same_model(a, b):
    for net in ("generator_", "critic_"):
        sa, sb = getattr(a, net).state_dict(), getattr(b, net).state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), f"{net}{k}"
    pd.testing.assert_frame_equal(a.sample(80), b.sample(80))


def test_a_fit_that_samples_every_epoch_gives_the_same_model_as_one_without_the_callback(make_table):
    df = make_table("class_signal", 300)
    kw = dict(epochs=3, batch_size=50, lr=1e-3, random_state=3, **SMALL)
    seen: list[int] = []
    with_cb = CTABGANPlus(**kw).fit(df, target="y", on_epoch_end=_sampling_callback(seen))
    _same_model(with_cb, CTABGANPlus(**kw).fit(df, target="y"))
    assert seen == [1, 2, 3]


def test_a_dp_fit_that_samples_every_epoch_gives_the_same_model_as_one_without_the_callback(make_table):
    df = make_table("two_class", 400)
    schema = infer_schema(df, target="y", categorical=["c", "y"],
                          categories={"c": ["a", "b", "c"], "y": ["no", "yes"]},
                          bounds={"x": (-6.0, 8.0)}).as_declared()
    kw = dict(epochs=2, batch_size=100, epsilon=3.0, insecure_noise_seed=0, random_state=1, **SMALL)
    with_cb = CTABGANPlus(**kw).fit(df, schema, on_epoch_end=_sampling_callback([]))
    _same_model(with_cb, CTABGANPlus(**kw).fit(df, schema))


def test_the_view_at_the_last_epoch_samples_from_the_final_averaged_generator_weights(make_table):
    df = make_table("class_signal", 300)
    got = {}

    def cb(view, epoch):
        view.sample(10, random_state=0)
        if epoch == 2:
            got.update({k: v.clone() for k, v in view._frozen.generator_.named_parameters()})

    m = CTABGANPlus(epochs=2, batch_size=50, generator_ema=0.9, random_state=0, **SMALL).fit(
        df, target="y", on_epoch_end=cb)
    final = dict(m.generator_.named_parameters())
    assert got.keys() == final.keys()
    assert all(torch.equal(got[k], final[k]) for k in final)


def test_the_view_refuses_to_sample_after_its_callback_returned(make_table):
    df = make_table("class_signal", 200)
    kept = []
    CTABGANPlus(epochs=1, batch_size=50, random_state=0, **SMALL).fit(
        df, target="y", on_epoch_end=lambda view, epoch: kept.append(view))
    with pytest.raises(ConfigError, match="on_epoch_end"):
        kept[0].sample(5)


def test_a_non_callable_on_epoch_end_is_a_config_error(make_table):
    df = make_table("class_signal", 200)
    with pytest.raises(ConfigError, match="on_epoch_end"):
        CTABGANPlus(epochs=1, batch_size=50, random_state=0, **SMALL).fit(df, target="y", on_epoch_end=5)
