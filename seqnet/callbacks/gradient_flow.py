"""Gradient-flow diagnostics: gradient norms per layer and gate, how often clipping bites, an
exploding-gradient warning, and how far back in time the loss still reaches the inputs.

Every optimizer step, before clipping, the total gradient norm is kept (on the device; read every
`every_n_steps` steps, so an accelerator is not made to wait each step). Every `every_n_steps`
steps the logger gets

    grad_2.0_norm/<parameter>           each parameter's gradient norm (Lightning's `grad_norm`)
    grad_2.0_norm/<parameter>/<gate>    the gate blocks of LSTM, GRU and scan-cell weights
    grad_2.0_norm_total                 the norm over all parameters
    gradient_flow/clipped_fraction      the share of the steps since the last log that clipping changed

and a warning names any step whose norm exceeds `explode_factor` times the running median (and
`explode_floor`).

Every `horizon_every_n_steps` steps (at an epoch's end) and once at the end of training, the
gradient of one fixed validation batch's loss (for per-step tasks, the loss at the last valid
step: `SequenceModule.probe_loss`) with respect to the encoder's input at every step t is taken;
its norm, averaged over the rows and counted in steps back from each row's last step, is drawn
(log scale, one curve per measurement) to TensorBoard, and `gradient_flow/memory_horizon` is the
number of steps back over which it stays above `horizon_fraction` of its value at the last step.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import lightning as L
import torch
from lightning.pytorch.utilities import grad_norm
from torch import Tensor, nn

from seqnet.callbacks.tensorboard import tensorboard_writers
from seqnet.data import SeqBatch
from seqnet.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

TORCH_GATES = {"LSTM": ("input", "forget", "cell", "output"), "GRU": ("reset", "update", "new")}
MAX_CURVES = 12  # curves drawn in one figure; older ones are dropped


class GradientFlow(L.Callback):
    """See the module docstring. Switch it off with `callbacks.gradient_flow=null`.

    every_n_steps: per-parameter norms and the clipped fraction are logged at the first optimizer
        step and every N steps.
    horizon_every_n_steps: the input-gradient curve is measured at the first epoch end at least N
        steps after the previous measurement (or the start), and at the end of training (so every
        run has one; a short run, only that one).
    probe_rows: rows of the first validation batch (the first training batch without validation)
        that the curve is measured on.
    horizon_fraction: the memory horizon's threshold, relative to the last step's gradient norm.
    explode_factor / median_window: warn when a step's norm exceeds explode_factor times the median
        of the previous median_window steps (after 10 of them) ...
    explode_floor: ... and exceeds this norm too: a model that fits its training batches has
        near-zero gradients, next to which an ordinary batch is 100x the median without exploding.
    """

    def __init__(
        self,
        every_n_steps: int = 200,
        horizon_every_n_steps: int = 1000,
        probe_rows: int = 32,
        horizon_fraction: float = 0.01,
        explode_factor: float = 100.0,
        median_window: int = 200,
        explode_floor: float = 1.0,
        tag: str = "gradient_flow/input_gradient",
    ) -> None:
        if every_n_steps < 1 or horizon_every_n_steps < 1 or probe_rows < 1:
            raise InputError("every_n_steps, horizon_every_n_steps and probe_rows must be at least 1")
        if not 0 < horizon_fraction < 1:
            raise InputError(f"horizon_fraction must lie in (0, 1), got {horizon_fraction}")
        self.every_n_steps = every_n_steps
        self.horizon_every_n_steps = horizon_every_n_steps
        self.probe_rows = probe_rows
        self.horizon_fraction = horizon_fraction
        self.explode_factor = explode_factor
        self.explode_floor = explode_floor
        self.tag = tag
        self.pending: list[tuple[int, int, Tensor]] = []  # (global step, batch index, total norm)
        self.recent: deque[float] = deque(maxlen=median_window)
        self.clipped: Tensor | int = 0
        self.counted = 0
        self.probe: Any = None  # the batch the curve is measured on (CPU copy)
        self.probe_is_val = False
        self.curves: list[tuple[str, Tensor]] = []  # ("step N", norm by steps back)
        self.measured_at: int | None = None
        self.batch_idx = 0
        self.parameters: list[nn.Parameter] | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.parameters = None  # read again at the first step: a strategy may have wrapped them

    # --- per-step norms -----------------------------------------------------------------------
    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.batch_idx = batch_idx
        if self.probe is None:
            self.probe = _cpu_copy(batch, self.probe_rows)  # replaced by a validation batch when one comes

    def on_validation_batch_start(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx == 0 and dataloader_idx == 0 and not self.probe_is_val:
            self.probe, self.probe_is_val = _cpu_copy(batch, self.probe_rows), True

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        if self.parameters is None:
            # kept: walking the module tree each step costs ~50 µs
            self.parameters = [p for p in pl_module.parameters() if p.requires_grad]
        grads = [p.grad for p in self.parameters if p.grad is not None]
        if not grads:
            return
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))).detach()  # as clipping does
        self.pending.append((trainer.global_step, self.batch_idx, total))
        self.counted += 1
        self.clipped = self.clipped + _clips(pl_module, total, grads)  # summed on the device, read at logs
        if trainer.global_step == 0 or (trainer.global_step + 1) % self.every_n_steps == 0:
            self._flush(trainer)
            self._log(trainer, {**_parameter_norms(pl_module), **self._clip_share()})

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
        since = trainer.global_step - (self.measured_at or 0)
        due = since >= self.horizon_every_n_steps
        if due:
            self._measure(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
        if self.measured_at != trainer.global_step:
            self._measure(trainer, pl_module)

    def _clip_share(self) -> dict[str, float]:
        share = float(self.clipped) / self.counted if self.counted else 0.0
        self.clipped, self.counted = 0, 0
        return {"gradient_flow/clipped_fraction": share}

    def _flush(self, trainer: L.Trainer) -> None:
        """Read the kept norms (one transfer) and warn about any that jumped over the median."""
        if not self.pending:
            return
        norms = torch.stack([norm for _, _, norm in self.pending]).float().cpu().tolist()
        for (step, batch_idx, _), norm in zip(self.pending, norms, strict=True):
            if len(self.recent) >= 10 and math.isfinite(norm):
                median = statistics.median(self.recent)
                jumped = norm > self.explode_factor * median > 0 and norm > self.explode_floor
                if jumped and trainer.is_global_zero:
                    log.warning(
                        "exploding gradient: norm %.3g at step %d (batch %d of epoch %d) is %.0fx the "
                        "running median %.3g; consider a lower model.optimizer.lr or "
                        "model.gradient_clip_val",
                        norm, step, batch_idx, trainer.current_epoch, norm / median, median,
                    )  # fmt: skip
            if math.isfinite(norm):
                self.recent.append(norm)
        self.pending = []

    # --- the input-gradient curve -------------------------------------------------------------
    def _measure(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.probe is None or not hasattr(pl_module, "probe_loss"):
            return
        self.measured_at = trainer.global_step
        curve = input_gradient_curve(pl_module, self.probe)
        if curve is None:
            return
        horizon = memory_horizon(curve, self.horizon_fraction)
        self.curves = [*self.curves, (f"step {trainer.global_step}", curve)][-MAX_CURVES:]
        self._log(trainer, {"gradient_flow/memory_horizon": float(horizon)})
        writers = tensorboard_writers(trainer)
        if writers and trainer.is_global_zero:
            figure = draw_input_gradients(self.curves, self.horizon_fraction, _caption(pl_module))
            for writer in writers:
                writer.add_figure(self.tag, figure, global_step=trainer.global_step)

    def _log(self, trainer: L.Trainer, metrics: dict[str, Any]) -> None:
        if not trainer.is_global_zero:
            return
        values = {k: float(v) for k, v in metrics.items()}
        for logger in trainer.loggers:
            logger.log_metrics(values, step=trainer.global_step)


def input_gradient_curve(module: L.LightningModule, batch: Any) -> Tensor | None:
    """The norm of ∂`module.probe_loss(batch)`/∂(encoder input at step t), averaged over the rows
    and indexed by steps back from each row's last valid step: (T,) float, on the CPU.

    The model runs in eval mode (no dropout) with cuDNN off (its RNN backward needs train mode);
    only the input's gradient is taken (`torch.autograd.grad`), so the parameters' gradients and
    DDP's hooks are left alone. None where the loss does not reach the encoder's input.
    """
    target = module.frontend if getattr(module, "frontend", None) is not None else module.encoder
    seen: list[Tensor] = []

    def tap(_: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if seen:
            return None  # a second call (a decoder stepping the encoder) keeps the first input
        x = args[0].detach().requires_grad_(True)
        seen.append(x)
        return (x, *args[1:])

    was_training = module.training
    batch = batch.to(module.device)
    handle = target.register_forward_pre_hook(tap)
    try:
        module.eval()
        with torch.inference_mode(False), torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            loss = module.probe_loss(batch)
            if not seen or not loss.requires_grad:
                return None
            (grad,) = torch.autograd.grad(loss, seen[0], allow_unused=True)
    finally:
        handle.remove()
        module.train(was_training)
    if grad is None:
        return None
    norms = grad.detach().float().norm(dim=-1).cpu()  # (B, T)
    lengths = batch.lengths.clamp(max=norms.shape[1])  # a strided front-end's input keeps T
    return _by_steps_back(norms, lengths)


def _by_steps_back(norms: Tensor, lengths: Tensor) -> Tensor:
    """norms (B, T), lengths (B,) -> (max length,): mean over rows of norms[b, L_b - 1 - k]."""
    steps = int(lengths.max())
    back = torch.arange(steps)  # (K,)
    positions = lengths.unsqueeze(1) - 1 - back  # (B, K)
    valid = positions >= 0
    values = norms.gather(1, positions.clamp(min=0)) * valid  # (B, K)
    return values.sum(0) / valid.sum(0).clamp(min=1)


def memory_horizon(curve: Tensor, fraction: float = 0.01) -> int:
    """Steps back over which curve (gradient norm by steps back, (K,)) stays above `fraction` of
    curve[0]; len(curve) when it never drops below (the horizon reaches the start)."""
    below = (curve < fraction * curve[0]).nonzero()
    return int(below[0]) if len(below) else len(curve)


def draw_input_gradients(
    curves: list[tuple[str, Tensor]], fraction: float, caption: str, shaded: bool = True
) -> Figure:
    """One log-scale curve per (label, gradient norm by steps back), relative to each curve's
    value at the last step, with the horizon threshold as a dashed line; shaded: one colour, later
    curves darker (one model over time), else a colour per curve (models side by side)."""
    from matplotlib.figure import Figure  # imported here: a second of start-up most runs never need

    figure = Figure(figsize=(6.5, 4), dpi=80)  # drawn once per measurement: kept cheap (no tight layout)
    figure.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.92)
    axes = figure.add_subplot()
    for i, (label, curve) in enumerate(curves):
        relative = (curve / curve[0].clamp(min=1e-30)).clamp(min=1e-12).numpy()
        colour = (0.1, 0.3, 0.7, 0.25 + 0.75 * (i + 1) / len(curves)) if shaded else f"C{i}"
        axes.plot(range(len(relative)), relative, color=colour, label=label)
    axes.axhline(fraction, color="grey", linestyle="--", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xlabel("steps back from the last valid step")
    axes.set_ylabel("‖∂loss/∂x_t‖ relative to the last step")
    axes.set_title(caption, fontsize=8)
    axes.legend(fontsize=6, loc="lower left")
    return figure


def _caption(module: L.LightningModule) -> str:
    encoder = getattr(module, "encoder", None)
    cell = "/".join(map(str, getattr(encoder, "cells", None) or [type(encoder).__name__]))
    text = f"input gradient of the loss ({cell}; per-step tasks: the last step's loss)"
    steps = getattr(module, "tbptt_steps", None)
    if steps:
        text += f"; trained with truncated BPTT: training gradients reach at most {steps} steps back"
    return text


def _parameter_norms(module: nn.Module) -> dict[str, Tensor]:
    """Lightning's per-parameter norms plus the gate blocks of gated recurrent weights."""
    norms = grad_norm(module, 2.0)
    for prefix, gates, hidden in _gated_modules(module):
        for name, p in module.get_submodule(prefix).named_parameters():
            if p.grad is not None and p.shape[0] == len(gates) * hidden:
                for gate, block in zip(gates, p.grad.chunk(len(gates)), strict=True):
                    norms[f"grad_2.0_norm/{prefix}.{name}/{gate}"] = block.norm()
    return norms


def _gated_modules(module: nn.Module) -> list[tuple[str, tuple[str, ...], int]]:
    """(path, gate names, hidden size) of each module whose weights stack one block per gate:
    torch's LSTM and GRU, and any module with `gate_names` and `hidden_size` (the scan cells)."""
    found = []
    for path, sub in module.named_modules():
        gates = TORCH_GATES.get(sub.mode) if isinstance(sub, nn.RNNBase) else getattr(sub, "gate_names", None)
        if gates and path:
            found.append((path, tuple(gates), int(sub.hidden_size)))
    return found


def _clips(module: nn.Module, total: Tensor, grads: list[Tensor]) -> Tensor | bool:
    """Whether the task's clipping (`gradient_clip_val`, `gradient_clip_algorithm`) changes these
    gradients: a 0-d bool tensor, or False without clipping."""
    value = getattr(module, "gradient_clip_val", None)
    if not value:
        return False
    if getattr(module, "gradient_clip_algorithm", "norm") == "value":
        return torch.stack([g.abs().max() for g in grads]).max() > value
    return total > value


def _cpu_copy(batch: Any, rows: int) -> Any:
    """A CPU copy of a `SeqBatch`'s first `rows` rows made outside inference mode, so autograd can
    use it later; its stream flags dropped (the probe reads it as a batch of its own)."""
    if not isinstance(batch, SeqBatch):
        return None
    with torch.inference_mode(False):
        return replace(batch.head(rows).to("cpu"), continues=None)
