"""A task shape seqnet does not ship, defined here, predicts through `seqnet-predict` with no edit
outside its own module: the command reads what it can do (`CAPABILITIES`) and how its predictions
become records (`record`) from the task itself."""

import json

import lightning as L
import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics import MeanAbsoluteError, MetricCollection

from seqnet.data import SequenceDataModule
from seqnet.tasks.base import SequenceModule, StepOutput
from tests.commands import run_cli


class WordCounter(SequenceModule):
    """Reads a text and says how many tokens it holds: a regression on text, its own record."""

    TARGET_KINDS = ("classes",)
    CAPABILITIES = frozenset({"predict"})

    def __init__(self, spec, **options) -> None:
        super().__init__(spec, **options)
        self.output = nn.Linear(self.encoder.output_size, 1)
        self.setup_metrics(MetricCollection({"mae": MeanAbsoluteError()}))

    def count(self, batch) -> torch.Tensor:
        return self.output(self.encode(self.embed(batch.inputs), batch.lengths).last).squeeze(-1)  # (B,)

    def step(self, batch) -> StepOutput:
        counts, target = self.count(batch), batch.lengths.to(torch.float32)
        return StepOutput(F.mse_loss(counts, target), torch.tensor(len(batch)), counts.detach(), target)

    def predict_step(self, batch, batch_idx: int = 0) -> dict:
        return {"count": self.count(batch)}

    def record(self, prediction, row, source) -> dict:
        return {"count": round(float(prediction["count"][row]), 4)}


def test_a_task_defined_outside_seqnet_predicts_through_the_command(tmp_path):
    texts = [" ".join(["word"] * (1 + i % 5)) for i in range(40)]
    data = SequenceDataModule.from_texts(texts, ["a", "b"] * 20, batch_size=8, tokenizer="word")
    data.setup()
    torch.manual_seed(0)
    model = WordCounter(data.spec, encoder={"cell": "gru", "hidden_size": 8})
    trainer = L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0)  # fmt: skip
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(tmp_path / "counter.ckpt")
    (tmp_path / "texts.txt").write_text("word word\nword word word word\n")
    result = run_cli(
        "seqnet-predict", f"ckpt_path={tmp_path / 'counter.ckpt'}", "input=texts.txt", "output=out.jsonl",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["input"] for r in records] == ["word word", "word word word word"]
    expected = model.eval().predict(["word word", "word word word word"])
    assert [r["count"] for r in records] == [e["count"] for e in expected]
