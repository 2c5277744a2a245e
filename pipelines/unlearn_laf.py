"""Stage `unlearn_laf`: label-free unlearning (LAF, LAF+R) certified against a model retrained from scratch.

``python pipelines/unlearn_laf.py`` loads the ``train`` stage's model and splits of ``unlearn_laf.dataset``,
builds the task ``unlearn_laf.task`` (:func:`trust.unlearn.tasks.make_task`: ``class``, ``noisy`` or ``random``)
and makes one protocol call, :func:`trust.unlearn.run_unlearn` (``method="laf"``: LAF on the inputs only, LAF+R
with the label budget ``repair_per_class``, ``certified`` the one certified, the other in the comparison; the
reference retrained without the forget rows; the certificate with ``n_shadows`` shadow models and its
controls). :meth:`Stage.publish` writes ``outputs/unlearn_laf/{model/, *.png}``, ``metrics/unlearn_laf.json``
and ``evidence/unlearn_laf.json`` (kind ``unlearn``). Digits and MNIST-1D are public data.
"""

from __future__ import annotations

from _stage import Stage, fingerprint, main, param
from _trained import load_trained


@main
def run() -> None:
    stage = Stage("unlearn_laf")
    p = stage.params
    cfg = param(p, "unlearn_laf", dict)
    name = param(p, "unlearn_laf.dataset", str, choices=("digits", "mnist1d"))
    seed = param(p, "unlearn_laf.seed", int, low=0)
    threads = param(p, "unlearn_laf.threads", int, low=1)

    import torch

    from trust.data import write_table
    from trust.unlearn import run_unlearn
    from trust.unlearn.tasks import make_task

    torch.set_num_threads(threads)
    t = load_trained(p, name)
    with stage.run(cfg, t.fingerprints):
        inputs = make_task(t.model, t.X[t.train], t.y[t.train], param(p, "unlearn_laf.task", str),
                           **param(p, "unlearn_laf.tasks", dict), random_state=seed,
                           test=(t.X[t.test], t.y[t.test]), name=name).with_fingerprint(fingerprint)
        result = run_unlearn(inputs, method="laf", settings=param(p, "unlearn_laf.laf", dict),
                             certified=param(p, "unlearn_laf.certified", str),
                             repair_per_class=param(p, "unlearn_laf.repair_per_class", int, low=0, nullable=True),
                             n_shadows=param(p, "unlearn_laf.n_shadows", int, low=4),
                             relearn=param(p, "unlearn_laf.relearn", bool), random_state=seed, device="cpu")
        write_table(inputs.forget_frame(), stage.out_dir / name / "forget.parquet")  # audit trail: for trust verify
        stage.publish(result, data=t.data() + [result.data_entry(name)])


if __name__ == "__main__":
    run()
