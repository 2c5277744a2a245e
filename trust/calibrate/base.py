"""The base of every calibrator: one call shape, and one way to save and load (a model directory).

Every calibrator of :mod:`trust.calibrate` derives :class:`Calibrator` and takes the same arguments:
``fit(logits, labels, view_logits=None)``, ``transform(logits, view_logits=None)`` (calibrated
logits) and ``predict_proba(logits, view_logits=None)``. ``view_logits`` (``(n_views, n, K)``: the
model's logits on transformed views of the rows, :func:`trust.calibrate.view_logits`) is read only by
a calibrator whose class sets ``needs_views = True`` (the CA calibrator); the others accept and ignore
it, so a caller never branches on the method.

**Saving.** ``cal.save(path)`` writes a model directory of kind ``calibrator`` through
:func:`trust.data.io.write_model_dir` (atomic; a foreign folder is refused): ``calibrator.json``
(class, settings, fitted numbers) and, for a calibrator with a network, ``weights.pt``.
``Calibrator.load(path)`` returns the saved calibrator whatever its class; ``TemperatureScaling.load``
(any subclass) also checks that the folder holds one of that class. A fitted calibrator's numbers
(a temperature, bin values, a network's weights, the CA calibrator's validation accuracy) are
parameters fitted on the validation split, as a model's weights are: the folder is a model, not a
release of the validation data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from sklearn.base import BaseEstimator

from trust._validation import check_is_fitted
from trust.errors import DataError

KIND = "calibrator"
FORMAT_VERSION = 1
_CONFIG, _WEIGHTS = "calibrator.json", "weights.pt"

#: every concrete calibrator class by name (filled by ``Calibrator.__init_subclass__``)
CALIBRATOR_CLASSES: dict[str, type["Calibrator"]] = {}


def _calibrator_class(name: str) -> type["Calibrator"] | None:
    """The registered class ``name``, importing the modules that define calibrators (torch last) on demand."""
    import importlib

    for module in ("trust.calibrate.baselines", "trust.calibrate.ca"):
        if name in CALIBRATOR_CLASSES:
            break
        importlib.import_module(module)
    return CALIBRATOR_CLASSES.get(name)


class Calibrator(BaseEstimator):
    """The base of the calibrators (module docstring): one call shape, ``save`` / ``load``.

    A subclass implements ``fit``, ``transform`` and the two persistence hooks: ``_state()`` (the
    fitted numbers as JSON) and ``_set_state(state)``; one with a torch network also ``_weights()``
    and ``_set_weights(state_dict, state)``.
    """

    #: whether the calibrator reads ``view_logits``
    needs_views: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            CALIBRATOR_CLASSES[cls.__name__] = cls

    def fit(self, logits: Any, labels: Any, view_logits: Any = None) -> "Calibrator":  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, logits: Any, view_logits: Any = None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, logits: Any, view_logits: Any = None) -> Any:
        """Calibrated probabilities ``(N, K)``: the softmax of :meth:`transform`."""
        from trust.calibrate.baselines import softmax

        return softmax(self.transform(logits, view_logits))

    # ------------------------------------------------------------------ persistence hooks
    def _state(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _weights(self) -> dict[str, Any] | None:
        return None

    def _set_weights(self, weights: dict[str, Any], state: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ save / load
    def save(self, path: Any) -> Path:
        """Write the fitted calibrator to the folder ``path`` atomically (module docstring); returns it."""
        from trust.data.io import write_model_dir

        check_is_fitted(self, "n_classes_")
        name = type(self).__name__
        config = {"class": name, "version": FORMAT_VERSION, "params": self.get_params(), "n_classes": self.n_classes_,
                  "state": self._state()}
        return write_model_dir(path, kind=KIND, config=config, config_name=_CONFIG, weights=self._weights(),
                               weights_name=_WEIGHTS, meta={"class": name})

    @classmethod
    def load(cls, path: Any) -> "Calibrator":
        """The calibrator saved at ``path`` (any class from ``Calibrator.load``; this class from a subclass)."""
        from trust.data.io import read_model_dir

        p = Path(path)
        read_model_dir(p, kind=KIND, files=(_CONFIG,), what="calibrator")
        try:
            config = json.loads((p / _CONFIG).read_text(encoding="utf-8"))
            name, params, state = config["class"], dict(config["params"]), dict(config["state"])
            n_classes = int(config["n_classes"])
        except (ValueError, OSError, KeyError, TypeError):
            raise DataError(f"'{p}' could not be read as a saved calibrator; save it again") from None
        klass = _calibrator_class(name)
        if klass is None:
            raise DataError(f"'{p}' holds a {name}, which this version of trust cannot load")
        if cls is not Calibrator and not issubclass(klass, cls):
            raise DataError(f"'{p}' holds a {name}, not a {cls.__name__}; load it with Calibrator.load")
        cal = klass(**params)
        cal._set_state(state)
        if klass._weights is not Calibrator._weights:
            import torch

            if not (p / _WEIGHTS).is_file():
                raise DataError(f"'{p}' lacks {_WEIGHTS}; save the calibrator again")
            cal._set_weights(torch.load(p / _WEIGHTS, map_location="cpu", weights_only=True), state)
        cal.n_classes_ = n_classes
        return cal


__all__ = ["KIND", "Calibrator", "CALIBRATOR_CLASSES"]
