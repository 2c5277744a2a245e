"""Stage `update`: a class-incremental model update, measured for negative flips beside the naive update.

On the ``train`` stage's rows and splits of ``update.dataset`` (:func:`_trained.load_trained`), with the recipe
of that stage's model (its settings, overridden by ``update.model``), it runs
:func:`trust.update.protocol.run_update` with the settings under ``update.protocol`` (checked by the library):
an old model on ``old_classes``, the naive update, a second naive update with its own seed (the seed floor and
the margin-preserving update's independent teacher), focal distillation and the margin-preserving update
(deployed; ``b`` fixed or chosen on the validation rows). The result gates the deployed update's NFR relative to
the naive update's (``policy.max_nfr_ratio_to_naive``) and its accuracy (``policy.min_accuracy_ratio_to_naive``),
the seed floor stated beside them.

Writes ``outputs/update/`` (the deployed model, the old model, two plots), ``metrics/update.json`` and
``evidence/update.json`` (kind ``update``).
"""

from __future__ import annotations

from _stage import Stage, main, param
from _trained import load_trained

from trust.data.splits import ArraySplits
from trust.update.protocol import run_update


@main
def run() -> None:
    stage = Stage("update")
    p = stage.params
    name = param(p, "update.dataset", str)
    settings = param(p, "update.protocol", dict)
    overrides = param(p, "update.model", dict, default={}) or {}
    seed = param(p, "train.seed", int, low=0)
    threads = param(p, "update.threads", int, low=1)

    import torch

    torch.set_num_threads(threads)
    trained = load_trained(p, name)
    recipe = {**trained.model.get_params(), **overrides}
    with stage.run({"dataset": name, "seed": seed, "model": overrides, **settings}, trained.fingerprints):
        result = run_update(trained.X, trained.y, ArraySplits(trained.train, trained.val, trained.test), model=recipe,
                            **settings, dataset=name, random_state=seed, device="cpu")
        stage.publish(result, data=trained.data())


if __name__ == "__main__":
    run()
