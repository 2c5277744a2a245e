"""The speed options of CTAB-GAN+ on the CPU: ``matmul_dtype``, the dropout bits, torch's generators, ``--device``."""

import numpy as np
import pytest
import torch

from trust.errors import ConfigError
from trust.synth.model import CTABGANPlus
from trust.synth.networks import scaled_keep_mask

from tests.unit._synth_tiny import SMALL, table as _table, declared_schema as _schema
from tests.unit.test_synth_cuda import _fit


def test_a_matmul_dtype_other_than_float32_or_bfloat16_is_a_config_error():
    df = _table()
    with pytest.raises(ConfigError, match="matmul_dtype='float16'"):
        CTABGANPlus(epochs=1, matmul_dtype="float16", **SMALL).fit(df, _schema(df))


def test_a_bfloat16_fit_tracks_the_float32_losses_within_one_percent_after_one_epoch():
    a = _fit(device="cpu", epochs=1).loss_history_[-1]
    b = _fit(device="cpu", epochs=1, matmul_dtype="bfloat16").loss_history_[-1]
    assert a.keys() == b.keys()
    for k in a:
        assert abs(a[k] - b[k]) <= 0.01 * max(abs(a[k]), 1.0), k


def test_the_dropout_bits_equal_the_bits_of_the_random_bytes_shifted_and_masked():
    like = torch.empty(37, 11)
    torch.manual_seed(4)
    got = scaled_keep_mask(like, 0.5)
    torch.manual_seed(4)
    r = torch.empty((like.numel() + 7) // 8, dtype=torch.uint8).random_(0, 256)
    want = (((r.unsqueeze(1) >> torch.arange(8, dtype=torch.uint8)) & 1) << 1).view(-1)[:like.numel()]
    assert torch.equal(got.view(-1), want)


def test_a_fit_and_a_sample_leave_the_callers_cpu_generator_state_as_it_was():
    torch.manual_seed(11)
    before = torch.get_rng_state()
    m = _fit(device="cpu", epochs=1)
    m.sample(20, random_state=0)
    assert torch.equal(torch.get_rng_state(), before)


def test_synth_fit_passes_device_and_matmul_dtype_to_the_saved_model(tmp_path, run_cli):
    data = tmp_path / "t.csv"
    _table(300).to_csv(data, index=False)
    out = tmp_path / "model"
    code, _, err = run_cli("synth", "fit", data, "--target", "y", "--no-dp", "--epochs", "1", "--batch-size", "100",
                           "--device", "cpu", "--matmul-dtype", "bfloat16", "--quiet", "--out", out)
    assert code in (0, None), err
    m = CTABGANPlus.load(out)
    assert (m.device, m.matmul_dtype) == ("cpu", "bfloat16")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_synth_fit_with_device_cuda_without_a_gpu_exits_2_with_one_line_and_writes_nothing(tmp_path, run_cli):
    data = tmp_path / "t.csv"
    _table(300).to_csv(data, index=False)
    out = tmp_path / "model"
    code, _, err = run_cli("synth", "fit", data, "--target", "y", "--no-dp", "--epochs", "1", "--device", "cuda",
                           "--quiet", "--out", out)
    assert code == 2
    assert "--device='cuda'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_bad_matmul_dtype_on_the_command_line_exits_2_before_reading_the_data(tmp_path, run_cli):
    data = tmp_path / "t.csv"
    data.write_text("not,a,table\n")
    code, _, err = run_cli("synth", "fit", data, "--no-dp", "--matmul-dtype", "half", "--quiet",
                           "--out", tmp_path / "model")
    assert code == 2 and "--matmul-dtype='half'" in err
    assert not np.any([p.name == "model" for p in tmp_path.iterdir()])
