"""Which regulatory provisions each kind of claim in the report is relevant to, and its limits.

A static table keyed by claim type. The wording is deliberately modest: evidence here *supports*
the documentation or assessment a provision asks for; no figure in the report establishes
compliance by itself, and this mapping is not legal advice.

References: GDPR (Regulation (EU) 2016/679) Art. 17 (right to erasure), Art. 25 (data protection
by design and by default), Art. 32 (security of processing; 32(1)(d): regularly testing and
evaluating the effectiveness of measures); EU AI Act (Regulation (EU) 2024/1689) Annex IV
(technical documentation: point 2(d) data requirements and provenance, 2(g) validation and
testing procedures and metrics, 5 risk management, 6 changes through the lifecycle);
NIST AI RMF 1.0 functions GOVERN, MAP, MEASURE, MANAGE (MEASURE 2.1: test sets, metrics and
tools documented; MEASURE 2.10: privacy risk examined and documented).
"""

from __future__ import annotations

DISCLAIMER = ("This table says which provisions each piece of evidence is relevant to. It is not legal advice, and "
              "no figure here establishes compliance by itself: it supports the assessment a responsible person makes.")

#: claim type -> what the report claims, and the provisions that evidence is relevant to
CLAIMS: dict[str, dict[str, str]] = {
    "lineage": {
        "claim": "Every artefact is traced to its code (git commit), inputs and outputs (dvc.lock, whose md5s of "
                 "private outputs are salted under the data owner's lineage key), datasets (keyed fingerprints, "
                 "source, licence) and MLflow run.",
        "gdpr": "Art. 17: knowing which data fed which artefact is a precondition for acting on an erasure request "
                "(it does not erase anything itself)",
        "ai_act": "Annex IV 2(d) (data provenance and characteristics); 6 (changes through the lifecycle)",
        "nist": "GOVERN (documentation, accountability); MAP (data provenance)",
    },
    "policy_gates": {
        "claim": "Each claim is gated against a threshold set in params.yaml policy; failures are shown, and "
                 "`trust report --strict` exits 1.",
        "gdpr": "Art. 25: privacy thresholds set by design and checked on every run",
        "ai_act": "Annex IV 5 (risk management system, Art. 9); 2(g) (metrics and test results)",
        "nist": "GOVERN 1.4 (transparent risk-management controls); MANAGE (acting on measured risk)",
    },
    "data_preparation": {
        "claim": "Datasets are validated against a declared schema and split with a seed; each split is identified "
                 "by a keyed fingerprint (HMAC-SHA256 under the data owner's key), and the split files are salted "
                 "under the same key, so that neither the report nor dvc.lock lets anyone without the key test a "
                 "candidate table.",
        "gdpr": "Art. 25 (data minimisation by design: declared columns only)",
        "ai_act": "Annex IV 2(d) (data sets, selection, cleaning methodology)",
        "nist": "MAP (data characteristics); MEASURE 2.1 (test sets documented)",
    },
    "dp_ledger": {
        "claim": "Every differentially private release is recorded with its epsilon, delta, accountant and unit of "
                 "privacy; totals per dataset, unit of privacy and adjacency compose sequentially and are gated, "
                 "and any undeclared non-DP use of a dataset makes its total infinite.",
        "gdpr": "Art. 25 (privacy-preserving technique by design); Art. 32 (a measure appropriate to the risk)",
        "ai_act": "Annex IV 2(d) (how training data were processed); 5 (risk management)",
        "nist": "MEASURE 2.10 (privacy risk examined and documented); MANAGE",
    },
    "dp_sgd_training": {
        "claim": "The critic and the auxiliary model are trained with DP-SGD (per-example clipping, Gaussian noise, "
                 "Poisson sampling) and the transformer's metadata comes from a DP histogram release; the generator "
                 "never reads a real row, so it and the synthetic table are post-processing of those releases. The "
                 "guarantee covers each training row.",
        "gdpr": "Art. 25 (data protection by design); Art. 32 (technical measure)",
        "ai_act": "Annex IV 2(b) (design choices), 2(d) (training methodology)",
        "nist": "MEASURE 2.10; MANAGE (privacy risk treatment)",
    },
    "synthetic_release": {
        "claim": "Synthetic tables are released in place of the training rows.",
        "gdpr": "Art. 25 (minimising the personal data shared)",
        "ai_act": "Annex IV 2(d) (data requirements)",
        "nist": "MAP (context of use); MANAGE",
    },
    "synthetic_utility": {
        "claim": "Utility and fidelity of the synthetic data are measured on held-out real data (train on synthetic, "
                 "test on real; column and pair statistics).",
        "gdpr": "-",
        "ai_act": "Annex IV 2(g) (validation and testing, metrics); 4 (appropriateness of metrics)",
        "nist": "MEASURE 2.1, MEASURE 2.3 (performance measured for conditions like deployment)",
    },
    "synthetic_privacy_audit": {
        "claim": "The synthetic data are audited for privacy risk (distance to closest record, NNDR, exact copies, "
                 "membership inference).",
        "gdpr": "Art. 32(1)(d) (testing and evaluating the effectiveness of measures)",
        "ai_act": "Annex IV 2(g) (test results); 5 (risk management)",
        "nist": "MEASURE 2.10 (privacy risk examined and documented)",
    },
    "aggregate_learning": {
        "claim": "Models are learnt from bag-level aggregates rather than per-person labels; risk is reported per "
                 "bag size.",
        "gdpr": "Art. 25 (data minimisation: only aggregates leave the data holder)",
        "ai_act": "Annex IV 2(b) (design choices), 2(g) (metrics)",
        "nist": "MAP; MEASURE 2.3",
    },
    "label_dp": {
        "claim": "Aggregate responses are released with label differential privacy (Laplace mechanism).",
        "gdpr": "Art. 25; Art. 32 (technical measure for the labels)",
        "ai_act": "Annex IV 2(d) (how labels were processed)",
        "nist": "MEASURE 2.10",
    },
    "unlearning": {
        "claim": "A model forgets a class, concept or set of rows on request, with a certificate whose gates pass "
                 "against a model retrained without that data.",
        "gdpr": "Art. 17 (right to erasure)",
        "ai_act": "Annex IV 6 (changes through the lifecycle)",
        "nist": "MANAGE (responding to requests and incidents)",
    },
    "calibration": {
        "claim": "The deployed model's confidence is calibrated on held-out data, gated on its ECE, and measured "
                 "under distribution shift.",
        "gdpr": "Art. 22 (meaningful information about automated decisions: a confidence that means what it says)",
        "ai_act": "Annex IV 2(g) (metrics and test results); Art. 15 (accuracy and robustness)",
        "nist": "MEASURE 2.5 (validity and reliability); MEASURE 2.6 (robustness under shift)",
    },
}

#: limitations that hold whatever the evidence; sections add their own
BASE_LIMITATIONS = [
    "Differential-privacy totals use basic sequential composition (epsilons and deltas add) per dataset, unit of "
    "privacy and adjacency. That bound is always valid but can be loose; tighter accounting across releases is not "
    "claimed.",
    "A DP guarantee protects the unit of privacy it names (a row, a label) under its adjacency relation "
    "(add/remove or replace-one); it says nothing about a person who contributes several rows unless the unit is "
    "'user'.",
    "The policy thresholds are the project's choice, recorded in params.yaml; they are not regulatory values.",
    "The report renders what the evidence files say. The figures are only as good as the stages that computed "
    "them; the lineage section lets a reviewer re-run them.",
]

DP_SGD_LIMITATION = ("DP-SGD trains the critic and the auxiliary model; the generator is post-processing (it reads "
                     "no real row). The guarantee covers the training rows at record level under add/remove "
                     "adjacency, assuming Poisson sampling as accounted; it does not cover the test or holdout rows "
                     "used for evaluation, nor public metadata declared in the schema (category lists, bounds).")

#: claims about the structure of the report itself: printed whatever the gates say
STRUCTURAL_CLAIMS = ("lineage", "policy_gates")

WITHHELD = ("Not claimed here: the gates of the sections that would support this claim fail, or none was "
            "evaluated ({why}). The claim is printed only where its gates pass.")

#: What each artifact reveals, and to whom (the report's lineage section, README "Privacy" and SECURITY.md say the
#: same): (artifact, who holds it, what it reveals)
DISCLOSURE: list[tuple[str, str, str]] = [
    ("A release: synthetic table, model directory, label-DP bag means, their ledger entries",
     "may leave the organisation: anyone",
     "only what its DP guarantee bounds (epsilon, delta per unit of privacy); no hash, exact count, timing or seed "
     "of the private data"),
    ("dvc.lock (tracked in git)", "everyone with the repository",
     "the pipeline's structure, params, paths; DVC's md5s and sizes of every output, those of private outputs "
     "salted under the lineage key (not testable against a candidate table without it); md5s of public inputs"),
    ("The DVC cache (.dvc/cache) and any DVC remote", "the data owner only",
     "the private files themselves (splits, non-DP models, logits) and each file's unsalted md5 in the folder "
     "manifests: never shared"),
    ("evidence/, metrics/, the MLflow store", "the data owner and the auditor (confidential audit trail)",
     "exact row counts, non-DP statistics and audits of the private tables, keyed fingerprints, run ids; "
     "never rows"),
    ("reports/ (HTML, Markdown, JSON)", "the data owner and the auditor (confidential audit trail)",
     "figures, gates, ledger, keyed fingerprints, exact counts of the evidence; no rows and no unkeyed hash of "
     "private data"),
    ("The lineage key (outside the project: ~/.config/trust/lineage.key or $TRUST_LINEAGE_KEY)",
     "the data owner; given to the auditor to verify lineage",
     "lets its holder recompute fingerprints and salts, i.e. test candidate tables against the audit trail"),
]
MIXED_UNITS_LIMITATION = ("Where a dataset has releases of different units or adjacencies, each total holds for its "
                          "own (unit, adjacency); the one combined statement made bounds a person's label under "
                          "replace-one (an add/remove epsilon counted twice). Label-level releases give no bound on "
                          "the features, so no combined record-level statement exists.")
TUNING_LIMITATION = ("Hyperparameters (epochs, learning rates, budget splits, clip bounds, bag sizes) were chosen by "
                     "looking at results on the private data; that selection is not accounted for in any epsilon "
                     "(Papernot and Steinke 2022, 'Hyperparameter tuning with Renyi differential privacy', ICLR 2022, "
                     "show that tuning on private data leaks and how to account for it). Where a sweep runs on a split "
                     "disjoint from the released rows, the release's guarantee is unaffected by choices made from it.")
SECRET_NOISE_LIMITATION = ("DP noise is drawn from fresh operating-system entropy at every release and never stored, "
                           "so DP releases differ from run to run and are not reproducible under `dvc repro`; "
                           "everything else is. The guarantee does not cover side channels (timing, memory, "
                           "floating-point artefacts beyond Opacus's secure mode) or the code's correctness; see "
                           "SECURITY.md.")
NON_DP_LIMITATION = ("Artifacts listed as 'audit trail' under the privacy ledger are NOT differentially private (a "
                     "non-DP baseline model, statistics and audits of the real rows): their protection is that they "
                     "never leave the data owner and the auditor, as declared in policy.internal_non_dp.")

__all__ = ["CLAIMS", "DISCLAIMER", "BASE_LIMITATIONS", "DP_SGD_LIMITATION", "MIXED_UNITS_LIMITATION",
           "TUNING_LIMITATION", "SECRET_NOISE_LIMITATION", "NON_DP_LIMITATION", "STRUCTURAL_CLAIMS", "WITHHELD",
           "DISCLOSURE"]
