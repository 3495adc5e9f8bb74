"""What the commands print: one copy of each log line, without third-party advertising or warnings
that do not apply to seqnet's runs."""

from __future__ import annotations

import logging
import warnings

# With an on-exception checkpoint among the callbacks (seqnet's InterruptedCheckpoint), Lightning
# looks for a checkpoint to resume on every fit without ckpt_path and warns twice that it found
# none; seqnet-train continues runs through resume= instead. The third is a deprecation inside
# Lightning's own code, which a user can do nothing about. The fourth fires on every tiny data set
# (a UCR set of 20 series is 2 batches an epoch): Lightning counts the logging interval in steps
# across epochs, so the training loss is still logged every log_every_n_steps steps.
NOT_APPLICABLE = (
    r"`\.fit\(ckpt_path=None\)` was called without a model",
    r'\.fit\(ckpt_path="last"\) is set, but there is no last checkpoint',
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"The number of training batches \(\d+\) is smaller than the logging interval",
)
# Log lines that advertise a product, or report that seqnet's own model summary replaced Lightning's.
NOISE = ("litlogger", "Trainer already configured with model summary callbacks")


class DropNoise(logging.Filter):
    """Drop the log records in `NOISE`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in NOISE)


def tidy_lightning_output() -> None:
    """Call once Lightning is imported. In a Hydra job the root logger already prints each record
    and writes it to the run's train.log; the console handler Lightning adds to its own logger
    would print every Lightning line a second time, so it goes."""
    lightning_logger = logging.getLogger("lightning")
    root = logging.getLogger()
    if root.handlers:
        for handler in list(lightning_logger.handlers):
            lightning_logger.removeHandler(handler)
    for handler in [*root.handlers, *lightning_logger.handlers]:
        handler.addFilter(DropNoise())
    for message in NOT_APPLICABLE:
        warnings.filterwarnings("ignore", message=message)
