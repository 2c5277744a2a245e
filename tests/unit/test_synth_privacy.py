"""What a DP CTAB-GAN+ fit ships: secret noise, no exact row count, a declared schema, uncoupled pairs."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from opacus.accountants import PRVAccountant, RDPAccountant
from sklearn.base import clone

from trust.data import infer_schema
from trust.errors import ConfigError
from trust.synth.dp_metadata import release_histograms
from trust.synth.model import CTABGANPlus
from trust.synth.networks import MLPCritic, MLPGenerator
from trust.synth.plan import plan_privacy
from trust.synth.sampler import CondSampler
from trust.synth.trainer import OutputLayout, critic_per_sample_grads, dp_pairs, mlp_critic_clipped_sum

from tests.unit._synth_tiny import SMALL, table as _table, declared_schema as _schema


def _weights(m):
    return torch.cat([p.detach().reshape(-1) for p in m.generator_.parameters()])


def _dp(**kw):
    return CTABGANPlus(**{**dict(epochs=1, batch_size=50, epsilon=4.0, delta=1e-4, random_state=0), **SMALL, **kw})


def test_two_dp_fits_with_the_same_random_state_release_different_noise_and_models():
    df = _table()
    a, b = _dp().fit(df, _schema(df)), _dp().fit(df, _schema(df))
    ha = a.transformer_.to_dict()
    assert ha != b.transformer_.to_dict()
    assert not torch.equal(_weights(a), _weights(b))
    assert {e.noise_source for e in a.ledger_} == {"os-entropy"}


def test_the_insecure_noise_seed_makes_dp_fits_identical_and_says_so_in_the_ledger():
    df = _table()
    a = _dp(insecure_noise_seed=5).fit(df, _schema(df))
    b = _dp(insecure_noise_seed=5).fit(df, _schema(df))
    assert a.transformer_.to_dict() == b.transformer_.to_dict()
    assert torch.equal(_weights(a), _weights(b))
    pd.testing.assert_frame_equal(a.sample(50), b.sample(50))
    assert {e.noise_source for e in a.ledger_} == {"seeded (not a valid guarantee)"}


def test_every_dp_sgd_ledger_entry_matches_an_independent_opacus_recomputation():
    df = _table()
    for accountant, cls in (("rdp", RDPAccountant), ("prv", PRVAccountant)):
        m = _dp(accountant=accountant, insecure_noise_seed=1).fit(df, _schema(df))
        entries = [e for e in m.ledger_ if e.mechanism.startswith("DP-SGD")]
        assert len(entries) == 2   # auxiliary and critic
        for e in entries:
            acc = cls()
            acc.history = [(e.noise_multiplier, e.sample_rate, e.steps)]
            assert e.epsilon == pytest.approx(acc.get_epsilon(delta=e.delta), rel=0.01)


def test_the_plan_is_a_function_of_the_dp_row_count_so_749_and_750_rows_get_the_same_plan():
    big = _table(750, seed=3)
    small = big.iloc[:749]
    schema = _schema(big)
    counts = {}
    for seed in range(40):   # the releases' DP counts for each table
        for name, df in (("749", small), ("750", big)):
            rel, _ = release_histograms(df, schema, 0.8, insecure_noise_seed=seed)
            counts.setdefault(name, {})[seed] = int(round(rel.n_rows))
    pairs = [(s, t) for s in counts["749"] for t in counts["750"] if counts["749"][s] == counts["750"][t]]
    assert pairs, "no pair of releases with equal DP counts"
    s, t = pairs[0]
    kw = dict(epochs=1, batch_size=100, epsilon=4.0, delta=1e-4, metadata_epsilon_fraction=0.2, random_state=0,
              **SMALL)
    a = CTABGANPlus(insecure_noise_seed=s, **kw).fit(small, schema)
    b = CTABGANPlus(insecure_noise_seed=t, **kw).fit(big, schema)
    assert a.plan_ == b.plan_ == plan_privacy(a.privacy_settings(), counts["749"][s], use_aux=True)
    assert a.privacy_["sample_rate"] == pytest.approx(100 / counts["749"][s])


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


def test_a_saved_dp_model_holds_no_exact_row_count_hash_or_timing(tmp_path):
    df = _table(437, seed=1)
    m = _dp(insecure_noise_seed=2).fit(df, _schema(df))
    assert m.sample_rows_ != 437 and len(m.sample()) == m.sample_rows_
    m.save(tmp_path / "model")
    text = (tmp_path / "model" / "model.json").read_text()
    state = json.loads(text)
    assert 437 not in set(_numbers(state))
    assert 437 / 50 not in set(_numbers(state)) and 50 / 437 not in set(_numbers(state))
    assert not re.search(r"[0-9a-f]{32,}", text)            # no content hash of any kind
    for word in ("seconds", "timing", "random_state_noise"):
        assert word not in text
    assert "n_rows" not in state
    # the ledger's batch / q gives the DP count, not n
    for e in m.ledger_:
        if e.sample_rate < 1:
            assert round(50 / e.sample_rate) == m.plan_.n_dp


def test_a_dp_fit_refuses_an_inferred_schema_and_no_schema_with_one_line_naming_the_fix():
    df = _table()
    for schema in (None, infer_schema(df, target="y", categories={"c": ["a", "b", "c"], "y": ["no", "yes"]})):
        with pytest.raises(ConfigError, match="declared schema.*as_declared") as e:
            _dp().fit(df, schema, target="y")
        assert "\n" not in str(e.value)
    CTABGANPlus(epochs=1, batch_size=50, random_state=0, **SMALL).fit(df, target="y")   # non-DP still infers


def test_under_dp_private_values_are_coerced_and_never_raise_or_appear_in_a_message():
    df = _table()
    bad = df.copy()
    bad.loc[0, "x"] = 12345.678          # outside the declared bounds: clipped
    bad.loc[1, "x"] = np.inf             # non-finite: missing (row dropped: x allows none)
    bad.loc[2, "c"] = "zebra-secret"     # undeclared category: missing (row dropped)
    bad.loc[3, "x"] = "text"
    schema = _schema(df)
    coerced = schema.coerce(bad)
    assert len(coerced) == len(df) - 3 and coerced["x"].max() == 8.0
    assert "zebra-secret" not in set(coerced["c"])
    m = _dp(insecure_noise_seed=0).fit(bad, schema)
    assert "zebra-secret" not in json.dumps(m._state(), default=float)
    # public-schema checks still fail, naming the column only
    with pytest.raises(Exception, match="column 'x' is missing"):
        _dp().fit(bad.drop(columns="x"), schema)
    # without DP the same table is refused (strict validation)
    with pytest.raises(Exception):
        CTABGANPlus(epochs=1, **SMALL).fit(bad, schema)


@pytest.fixture(scope="module")
def adult_coupling():
    """Adult rows, a DP transformer (fitted from a seeded histogram release of them), a generator with BatchNorm."""
    from trust.data import dataset_schema, load_dataset
    from trust.synth.transformer import DataTransformer

    schema = dataset_schema("adult")
    df = schema.coerce(load_dataset("adult")[0].iloc[:160]).reset_index(drop=True)
    rel, _ = release_histograms(df.iloc[:120], schema, 2.0, insecure_noise_seed=3)
    tr = DataTransformer(random_state=0).fit(None, schema, histograms=rel)
    blocks = [(b.start, b.end) for b in tr.cond_blocks_]
    torch.manual_seed(0)
    G = MLPGenerator(4 + sum(e - s for s, e in blocks), tr.output_dim_, (16,)).train()
    return df, tr, blocks, G


def _clipped_pairs(tr, blocks, G, table, path):
    """Every pair's clipped gradient (vmap: one row each; ghost: the norms and the clipped sum) in one DP critic step
    over all rows of ``table``, with the secret streams fixed by the insecure seed, critic dropout 0.5."""
    from trust.privacy.noise import RowStreams, counter, noise_source
    from trust.synth.networks import dropout_widths
    from trust.synth.trainer import MODE

    streams = RowStreams.for_table(table, noise_source(7, stream="rows"))
    every = np.arange(len(table))
    X = torch.as_tensor(tr.transform(table, row_uniform=lambda ci: streams.uniform(every, counter(MODE, 0, ci))[:, 0]))
    sampler = CondSampler(blocks, [b.counts for b in tr.cond_blocks_], X.numpy())
    layout = OutputLayout(tr.spans_, blocks)
    torch.manual_seed(12)
    critic = MLPCritic(X.shape[1] + sampler.dim, (12, 10), dropout=0.5).double().train()
    pool_rng = noise_source(7, stream="critic").stream("partners")
    pb = dp_pairs(G, layout, sampler, X, every, 50, 4, 0.2, pool_rng=pool_rng, streams=streams, step=3,
                  mask_widths=dropout_widths(critic), p_drop=0.5)
    masks = {k: [m.double() for m in v] for k, v in pb.masks.items()}
    args = (critic, pb.real.double(), pb.partner.double(), pb.alpha.double(), 10.0)
    if path == "vmap":
        per = critic_per_sample_grads(*args, include_fake=True, masks=masks)
        flat = torch.cat([g.reshape(len(every), -1) for g in per.values()], dim=1)
        return X, flat * torch.clamp(1.0 / (flat.norm(dim=1, keepdim=True) + 1e-6), max=1.0)
    summed, norms = mlp_critic_clipped_sum(*args, 1.0, include_fake=True, masks=masks)
    return X, (norms, torch.cat([g.reshape(-1) for g in summed.values()]))


@pytest.mark.parametrize("where", ["first", "last"])
@pytest.mark.parametrize("path", ["vmap", "ghost"])
def test_adding_one_real_row_leaves_every_other_pairs_encoding_and_clipped_gradient_unchanged(adult_coupling, path,
                                                                                               where):
    # Adult's conditional blocks, critic dropout 0.5, the new row inserted first or last: every draw that touches a
    # real row (mode, block, partner, interpolation weight, dropout masks) is a function of the row and the secret
    # key, so the other 120 rows keep their encoding and their pair (positional draws shifted all of them)
    df, tr, blocks, G = adult_coupling
    base, new = df.iloc[:120], df.iloc[[150]]
    bigger = pd.concat([new, base] if where == "first" else [base, new], ignore_index=True)
    others = slice(1, 121) if where == "first" else slice(0, 120)
    before = [b.clone() for b in G.buffers()]
    X0, a = _clipped_pairs(tr, blocks, G, base.reset_index(drop=True), path)
    X1, b = _clipped_pairs(tr, blocks, G, bigger, path)
    assert len(blocks) > 10
    torch.testing.assert_close(X1[others], X0, rtol=0, atol=0)
    if path == "vmap":
        torch.testing.assert_close(b[others], a, rtol=0, atol=1e-12)
    else:
        torch.testing.assert_close(b[0][others], a[0], rtol=0, atol=1e-12)
        _, per = _clipped_pairs(tr, blocks, G, bigger, "vmap")
        added = per[0 if where == "first" else 120]
        torch.testing.assert_close(b[1] - a[1], added, rtol=1e-6, atol=1e-9)
    # the pool's passes leave the generator's BatchNorm running statistics as they were
    assert all(torch.equal(x, y) for x, y in zip(before, G.buffers()))


def test_the_estimator_follows_scikit_learn_get_set_params_clone_and_repr():
    m = CTABGANPlus(epochs=3, epsilon=1.0, insecure_noise_seed=4)
    assert m.get_params()["epochs"] == 3 and m.get_params()["insecure_noise_seed"] == 4
    c = clone(m).set_params(epochs=7)
    assert c.epochs == 7 and m.epochs == 3 and c.epsilon == 1.0
    assert "insecure_noise_seed=4" in repr(m)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_dp_fit_runs_on_cuda_and_its_model_samples():
    df = _table()
    m = _dp(device="cuda", insecure_noise_seed=0).fit(df, _schema(df))
    assert next(m.generator_.parameters()).is_cuda
    assert m.sample(30).shape == (30, 3)


def test_device_cuda_without_a_gpu_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    df = _table()
    with pytest.raises(ConfigError, match="cuda"):
        CTABGANPlus(epochs=1, device="cuda", **SMALL).fit(df, target="y")


def test_a_dp_fit_on_an_empty_table_raises_nothing_that_reveals_its_size():
    df = _table()
    m = _dp(insecure_noise_seed=0, delta=1e-7).fit(df.iloc[:0], _schema(df))
    assert m.plan_.n_dp >= 1 and len(m.sample()) == m.sample_rows_
