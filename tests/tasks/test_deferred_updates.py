"""Training metrics updated in batches of steps give what one update per step gives."""

import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from seqnet.tasks.deferred_updates import DeferredUpdates
from seqnet.tasks.outputs import IGNORE_INDEX


class CountingCollection(MetricCollection):
    """A MetricCollection that counts its update calls."""

    calls = 0

    def update(self, *args, **kwargs) -> None:
        self.calls += 1
        super().update(*args, **kwargs)


def classes() -> CountingCollection:
    options = dict(ignore_index=IGNORE_INDEX, validate_args=False)
    return CountingCollection(
        {"acc": MulticlassAccuracy(5, average="micro", **options), "f1": MulticlassF1Score(5, **options)}
    )


def per_step_batches(generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-step class ids (B, T) of varying B and T, padding marked IGNORE_INDEX in both."""
    batches = []
    for batch, steps in [(4, 7), (3, 7), (5, 9), (2, 9), (6, 9), (1, 3)]:
        preds = torch.randint(0, 5, (batch, steps), generator=generator)
        targets = torch.randint(0, 5, (batch, steps), generator=generator)
        targets[:, steps - 2 :] = IGNORE_INDEX
        batches.append((preds.masked_fill(targets == IGNORE_INDEX, IGNORE_INDEX), targets))
    return batches


def test_deferred_updates_compute_what_per_step_updates_compute_with_fewer_calls():
    generator = torch.Generator().manual_seed(0)
    batches = per_step_batches(generator)
    direct, deferred, updates = classes(), classes(), DeferredUpdates()
    for preds, targets in batches:
        direct.update(preds, targets)
        updates.add(deferred, preds, targets)
    assert deferred.calls == 2  # T changed from 7 to 9, then from 9 to 3: those two flushed
    updates.flush(deferred)
    assert deferred.calls == 3 and not updates.held
    for name, value in direct.compute().items():
        torch.testing.assert_close(deferred.compute()[name], value)


class Recorder:
    """Stands in for a metric collection: records what each update received."""

    def __init__(self) -> None:
        self.received: list = []

    def update(self, preds, targets) -> None:
        self.received.append((preds, targets))


def test_held_values_are_handed_over_at_the_size_limit_and_non_tensors_pass_straight_on():
    metrics, updates = Recorder(), DeferredUpdates(max_elements=40)
    values = torch.arange(60.0).view(6, 10)
    for row in values:  # 10 preds + 10 targets per step: every second step reaches 40
        updates.add(metrics, row.view(1, 10), row.view(1, 10) + 1)
    assert [preds.shape for preds, _ in metrics.received] == [(2, 10)] * 3 and not updates.held
    torch.testing.assert_close(torch.cat([preds for preds, _ in metrics.received]), values)
    updates.add(metrics, values[:1], values[:1])
    updates.add(metrics, {"horizon": values}, values)  # not a tensor: what is held goes first
    assert [type(preds) for preds, _ in metrics.received[3:]] == [torch.Tensor, dict]
    assert not updates.held
