import lightning as L
import torch


def quiet_trainer(tmp_path, **kwargs) -> L.Trainer:
    defaults = dict(
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    return L.Trainer(**{**defaults, **kwargs})


def fit_one_batch(model, batch, steps: int, lr: float = 1e-2) -> float:
    """Plain Adam steps of a task on one batch; returns the last loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model.step(batch).loss
        loss.backward()
        optimizer.step()
    return loss.item()
