"""Stage `unlearn_concept`: forget one class of a base classifier by concept-guided label poisoning, certified.

``python pipelines/unlearn_concept.py`` loads the ``train`` stage's model and splits of
``unlearn_concept.dataset`` and makes one protocol call, :func:`trust.unlearn.run_unlearn` (``method="concept"``:
the reference retrained without ``forget_class``, :class:`~trust.unlearn.ConceptUnlearner` with the settings
``unlearn_concept.concept``, the baselines in the same harness, the certificate with ``n_shadows`` shadow
models and its controls). :meth:`Stage.publish` writes ``outputs/unlearn_concept/{model/, *.png}``,
``metrics/unlearn_concept.json`` and ``evidence/unlearn_concept.json`` (kind ``unlearn``), gated by
``policy:``. Digits and MNIST-1D are public data: no non-DP use to declare.
"""

from __future__ import annotations

from _stage import ROOT, Stage, fingerprint, main, param
from _trained import load_trained


@main
def run() -> None:
    stage = Stage("unlearn_concept")
    p = stage.params
    cfg = param(p, "unlearn_concept", dict)
    name = param(p, "unlearn_concept.dataset", str)
    forget_class = param(p, "unlearn_concept.forget_class", int, low=0)
    seed = param(p, "unlearn_concept.seed", int, low=0)
    threads = param(p, "unlearn_concept.threads", int, low=1)
    source = param(p, "unlearn_concept.concepts", str)

    import torch

    from trust.data.concepts import digit_concepts, load_concept_matrix
    from trust.data import write_table
    from trust.unlearn import UnlearnInputs, run_unlearn

    torch.set_num_threads(threads)
    t = load_trained(p, name)
    inputs = UnlearnInputs.for_class(t.model, t.X[t.train], t.y[t.train], forget_class, name=name,
                                     test=(t.X[t.test], t.y[t.test]), val=(t.X[t.val], t.y[t.val]))
    inputs = inputs.with_fingerprint(fingerprint)
    concepts = digit_concepts() if source == "digits" else load_concept_matrix(ROOT / source)
    with stage.run(cfg, t.fingerprints):
        result = run_unlearn(inputs, method="concept", settings=param(p, "unlearn_concept.concept", dict),
                             concepts=concepts, baselines=param(p, "unlearn_concept.baselines", list),
                             n_shadows=param(p, "unlearn_concept.n_shadows", int, low=4),
                             relearn_max_epochs=param(p, "unlearn_concept.relearn_max_epochs", int, low=1),
                             random_state=seed, device="cpu")
        write_table(inputs.forget_frame(), stage.out_dir / name / "forget.parquet")  # audit trail: for trust verify
        stage.publish(result, data=t.data() + [result.data_entry(name)])


if __name__ == "__main__":
    run()
