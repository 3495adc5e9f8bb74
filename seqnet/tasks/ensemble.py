"""Seed ensembles: several many-to-one models of one data set, their predictions averaged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from seqnet.data import SeqBatch
from seqnet.errors import InputError
from seqnet.tasks.many_to_one import ManyToOne


def ensemble_test_metrics(models: Sequence[ManyToOne], batches: Iterable[SeqBatch]) -> dict[str, float]:
    """Test metrics of the models' averaged class probabilities (classification) or averaged
    values in data units (regression), as `ensemble/test/<metric>`, on CPU.

    models: trained on the same data set (same classes or targets), e.g. runs with several seeds.
    """
    if not models or not all(isinstance(m, ManyToOne) for m in models):
        raise InputError("an ensemble averages ManyToOne models (classification or regression) only")
    first = models[0]
    if any(m.spec.class_names != first.spec.class_names or m.spec.output_size != first.spec.output_size
           for m in models):  # fmt: skip
        raise InputError(
            "the ensemble's checkpoints predict different classes or targets; give runs of one data set"
        )
    metrics = first.output.metrics()
    with torch.no_grad():
        for batch in batches:
            predictions = [m.eval().predict_step(batch) for m in models]
            if first.classify:
                probs = torch.stack([p["probs"] for p in predictions]).mean(0)  # (B, C)
                metrics.update(probs.argmax(dim=-1), batch.targets)
            else:
                metrics.update(torch.stack([p["preds"] for p in predictions]).mean(0), batch.targets)
    return {f"ensemble/test/{name}": float(value) for name, value in metrics.compute().items()}
