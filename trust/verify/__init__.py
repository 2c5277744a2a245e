"""``trust verify``: an auditor re-derives the report's verdict without trusting the pipeline's own figures,
and detects any edit made after the run.

For every claim it says VERIFIED, MISMATCH or UNVERIFIABLE, with a reason:

* **signatures and digests** (:mod:`trust.verify.signatures`): every evidence file and the report carry a valid
  Ed25519 signature by the organisation's key (in-toto Statements in DSSE envelopes,
  :mod:`trust.signing`); every digest a statement vouches for matches the file; the report was
  rendered from this evidence and shows its figures;
* **epsilon, independently** (:mod:`trust.verify.epsilon`, :mod:`trust.verify.ledger`): each ledger entry
  recomputed from its own parameters with Google's ``dp-accounting`` (PLD for DP-SGD and Gaussian, RDP for
  zCDP; closed form for Laplace), the totals per (dataset, unit of privacy, adjacency) re-added;
* **gates** (:mod:`trust.verify.gates`): re-evaluated from the evidence figures against ``params.yaml``'s
  ``policy:`` with the verifier's own comparisons, and compared with the report's gates and verdict;
* **lineage** (:mod:`trust.verify.lineage`): keyed fingerprints recomputed from the data with the lineage
  key, ``dvc status`` clean, each evidence file's MLflow run present with the same metrics;
* **releases** (:mod:`trust.verify.releases`): each release folder holds only its manifest's files, each
  signed, and none holds a plain hash, exact count or timing of the private tables.

>>> from trust.verify import claim
>>> claim("epsilon", "evidence/x.json", "release 'r': epsilon 1", True, "ledger 1 >= independent 0.99").status
'VERIFIED'
"""

from trust._lazy import lazy_exports

_EXPORTS = {
    "verify_project": "trust.verify.project", "Verification": "trust.verify.claims", "Claim": "trust.verify.claims",
    "claim": "trust.verify.claims", "VERIFIED": "trust.verify.claims", "MISMATCH": "trust.verify.claims",
    "UNVERIFIABLE": "trust.verify.claims", "check_entry": "trust.verify.epsilon",
    "independent_epsilon": "trust.verify.epsilon", "sign_evidence": "trust.signing",
    "sign_report": "trust.signing", "load_public_key": "trust.signing",
    "verification_evidence": "trust.verify.report_section",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
