"""The JSON schema of the aggregate evidence's ``details``: written by
:meth:`trust.aggregate.result.AggregateResult.to_evidence`, read by the report section
(:mod:`trust.aggregate.report_section`). Kept apart from the section so that the stage, which validates the
details it writes, does not import the report.

``details`` holds: the paper, the dataset and the response's declared standardisation; exact row counts (audit
trail); ``release`` (the release folder, as the report's coverage table reads it) and ``deployed`` (what was
released: epsilon, bag size, bags, rho, files, the held-out bag loss beside predicting the mean, both read off the
release); the guarantee and what it does not protect; ``comparison`` (per model and bag size: mean test MSE of
bag-level, instance-level and rho chosen on held-out bags, the better reference and the ratio); ``dp_sweep`` (k*
per estimator and epsilon, whether interior, the mean test MSE per bag size, the split and the sweep's summed
epsilon); ``synthetic`` (bias^2 / variance / risk records); ``test_errors`` (the deployed model's test MSE beside
predicting the released mean: not DP, present only when asked for).
"""

from __future__ import annotations

from typing import Any

_num = {"type": "number"}
_num_or_null = {"type": ["number", "null"]}
_int = {"type": "integer", "minimum": 0}
_by_eps = {"type": "object", "additionalProperties": {"type": "object"}}

DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["paper", "dataset", "response", "rows", "release", "deployed", "guarantee", "not_protected",
                 "comparison", "dp_sweep", "synthetic", "test_errors"],
    "properties": {
        "paper": {"type": "string", "minLength": 1},
        "dataset": {"type": "string"},
        "response": {
            "type": "object", "required": ["target", "log", "center", "scale", "clip"],
            "properties": {"target": {"type": "string"}, "log": {"type": "boolean"}, "center": _num, "scale": _num,
                           "clip": _num_or_null, "note": {"type": "string"}},
            "additionalProperties": False,
        },
        "rows": {"type": "object", "additionalProperties": _int},
        "release": {"type": "array", "items": {"type": "string"}},
        "deployed": {
            "type": ["object", "null"],
            "required": ["dp", "epsilon", "bag_size", "bags", "rho", "model", "files"],
            "properties": {"dp": {"type": "boolean"}, "epsilon": _num_or_null,
                           "bag_size": {"type": ["integer", "null"], "minimum": 1}, "bags": _int,
                           "rho": _num, "model": {"type": "string"},
                           "files": {"type": "array", "items": {"type": "string"}},
                           "heldout_bag_loss": _num_or_null, "heldout_bag_loss_of_mean": _num_or_null},
            "additionalProperties": False,
        },
        "guarantee": {"type": "string"},
        "not_protected": {"type": "string"},
        "comparison": {
            "type": "array",
            "items": {"type": "object",
                      "required": ["model", "k", "bag", "instance", "auto", "best", "better", "ratio", "seeds"],
                      "properties": {"model": {"enum": ["linear", "mlp"]}, "k": _int, "bag": _num, "instance": _num,
                                     "auto": _num, "best": _num, "better": {"enum": ["bag-level", "instance-level"]},
                                     "ratio": _num, "seeds": _int,
                                     "rho_chosen": {"type": "array", "items": _num}},
                      "additionalProperties": False},
        },
        "dp_sweep": {
            "type": ["object", "null"],
            "required": ["k_star", "interior", "mse_by_k", "train_rows", "simulated_releases",
                         "simulated_total_epsilon", "split"],
            "properties": {"k_star": _by_eps, "interior": _by_eps, "mse_by_k": _by_eps, "train_rows": _int,
                           "simulated_releases": _int, "simulated_total_epsilon": _num,
                           "split": {"type": "string"}, "oracle": {"type": "string"}, "note": {"type": "string"}},
            "additionalProperties": False,
        },
        "synthetic": {"type": "array", "items": {"type": "object", "required": ["k", "rho", "bias2", "variance", "risk"]}},
        "test_errors": {
            "type": ["object", "null"],
            "required": ["test_rows", "test_mse", "test_mse_of_constant"],
            "properties": {"test_rows": _int, "test_mse": _num, "test_mse_of_constant": _num,
                           "note": {"type": "string"}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

__all__ = ["DETAILS_SCHEMA"]
