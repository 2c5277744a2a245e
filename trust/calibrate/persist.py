"""Save and load a fitted calibrator as a model directory (``trust.data.io.model_dir_writer``, kind ``calibrator``).

The folder holds ``calibrator.json`` (method, settings, the fitted numbers) and, for the CA calibrator,
``weights.pt`` (the temperature network's state dict). Written atomically; a foreign folder is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from trust._validation import check_is_fitted
from trust.calibrate.baselines import HistogramBinning, IsotonicCalibrator, TemperatureScaling, VectorScaling
from trust.errors import ConfigError, DataError

KIND = "calibrator"
FORMAT_VERSION = 1
_CONFIG, _WEIGHTS = "calibrator.json", "weights.pt"
_CLASSES = {"TemperatureScaling": TemperatureScaling, "VectorScaling": VectorScaling,
            "HistogramBinning": HistogramBinning, "IsotonicCalibrator": IsotonicCalibrator}


def _state(cal: Any) -> dict[str, Any]:
    if isinstance(cal, TemperatureScaling):
        return {"temperature": cal.temperature_}
    if isinstance(cal, VectorScaling):
        return {"weight": cal.weight_.tolist(), "bias": cal.bias_.tolist()}
    if isinstance(cal, HistogramBinning):
        return {"bin_values": cal.bin_values_.tolist()}
    if isinstance(cal, IsotonicCalibrator):
        return {"x": [i.X_thresholds_.tolist() for i in cal.isotonic_], "y": [i.y_thresholds_.tolist() for i in cal.isotonic_]}
    return {"n_views": cal.n_views_, "top_k": cal.top_k_}


def save_calibrator(cal: Any, path: Any) -> Path:
    """Write a fitted calibrator of :mod:`trust.calibrate` to the folder ``path``; returns it."""

    from trust.calibrate.ca import CorrectnessAwareCalibrator
    from trust.data.io import write_model_dir

    name = type(cal).__name__
    if name not in _CLASSES and not isinstance(cal, CorrectnessAwareCalibrator):
        raise ConfigError(f"cannot save a {name}; pass a calibrator of trust.calibrate")
    check_is_fitted(cal, "n_classes_")
    config = {"class": name, "version": FORMAT_VERSION, "params": cal.get_params(), "n_classes": cal.n_classes_,
              "state": _state(cal)}
    weights = ({k: v.detach().cpu() for k, v in cal.network_.state_dict().items()}
               if isinstance(cal, CorrectnessAwareCalibrator) else None)
    return write_model_dir(path, kind=KIND, config=config, config_name=_CONFIG, weights=weights,
                           weights_name=_WEIGHTS, meta={"class": name})


def load_calibrator(path: Any) -> Any:
    """A calibrator saved with :func:`save_calibrator`."""
    from trust.calibrate.ca import CorrectnessAwareCalibrator, _TemperatureNet
    from trust.data.io import read_model_dir

    p = Path(path)
    read_model_dir(p, kind=KIND, files=(_CONFIG,), what="calibrator")
    try:
        config = json.loads((p / _CONFIG).read_text(encoding="utf-8"))
        name, params, state = config["class"], config["params"], config["state"]
    except (ValueError, OSError, KeyError):
        raise DataError(f"'{p}' could not be read as a saved calibrator; save it again") from None
    if name == "CorrectnessAwareCalibrator":
        import torch

        cal = CorrectnessAwareCalibrator(**params)
        cal.n_views_, cal.top_k_ = int(state["n_views"]), int(state["top_k"])
        net = _TemperatureNet(cal.n_views_ * cal.top_k_, int(params["hidden"]), float(params["t_min"]), float(params["t_max"]))
        net.load_state_dict(torch.load(p / _WEIGHTS, map_location="cpu", weights_only=True))
        cal.network_ = net.eval()
    elif name in _CLASSES:
        cal = _CLASSES[name](**params)
        if name == "TemperatureScaling":
            cal.temperature_ = float(state["temperature"])
        elif name == "VectorScaling":
            cal.weight_, cal.bias_ = np.asarray(state["weight"]), np.asarray(state["bias"])
        elif name == "HistogramBinning":
            cal.bin_values_ = np.asarray(state["bin_values"])
        else:
            from sklearn.isotonic import IsotonicRegression

            # refitting on the fitted thresholds reproduces the same piecewise-linear map
            cal.isotonic_ = [IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(np.asarray(x), np.asarray(y))
                             for x, y in zip(state["x"], state["y"])]
    else:
        raise DataError(f"'{p}' holds a {name}, which this trust cannot load")
    cal.n_classes_ = int(config["n_classes"])
    return cal


__all__ = ["KIND", "save_calibrator", "load_calibrator"]
