"""`OneToMany`: a class or a vector of features in, a sequence out (names of a gender, melodies of a
mode or collection, a caption of an image's features)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from seqnet.data import DataSpec, SeqBatch
from seqnet.errors import InputError
from seqnet.nn import EncoderOutput, EncoderState
from seqnet.nn.decoder import StateBridge
from seqnet.tasks.export import Graph, flat_state, state_count, unflat_state
from seqnet.tasks.language_model import LanguageModel

CONDITION_MODES = ("init", "input", "both")


@dataclass
class ConditionedState:
    """The generator's state between steps: the recurrent state (None before the first step) and
    each row's raw condition (class ids (B,) or values (B, C)); beam search reorders both."""

    rnn: EncoderState | None
    conditions: Tensor

    def index_select(self, rows: Tensor) -> ConditionedState:
        rnn = None if self.rnn is None else self.rnn.index_select(rows)
        return ConditionedState(rnn, self.conditions.index_select(0, rows.to(self.conditions.device)))

    def detach(self) -> ConditionedState:
        return ConditionedState(None if self.rnn is None else self.rnn.detach(), self.conditions)


class OneToMany(LanguageModel):
    """A language model whose every sequence is conditioned: a class through a learned embedding,
    or a vector of features through a linear layer, reaches the recurrent generator through its
    initial state (`init`), as an input at every step (`input`), or both.

    `withhold_condition=True` trains the same network with every row's condition replaced by one
    constant (class 0, or a zero vector): the unconditioned baseline a conditioned model must beat.
    Both build the same parameters in the same order, so with one seed they start from the same
    weights and see the same batches and dropout masks: the comparison is paired, and its noise is
    far below that of two unrelated runs. Metrics are the language model's (NLL per token).

    Args:
        spec: token inputs (`<bos>` + tokens) and aligned next-token targets with a condition per
            example (e.g. `NamesSource(task="generate")`, `MusicSource`).
        condition_mode: init | input | both.
        condition_dim: width of the condition's embedding (or projection).
        withhold_condition: feed one constant condition to every row (the baseline).
        **options: `LanguageModel`'s (dropout, tie_weights) and every task's (encoder, ...).
    """

    CONFIG_NAME = "one_to_many"
    PROMPT_AFTER_BOS = True
    EXPORT_OUTPUTS = ("logits",)  # (B, T, V), from inputs, lengths and each row's condition

    def __init__(
        self,
        spec: DataSpec | dict,
        condition_mode: str = "both",
        condition_dim: int = 32,
        withhold_condition: bool = False,
        **options: Any,
    ) -> None:
        if condition_mode not in CONDITION_MODES:
            raise InputError(f"condition_mode must be one of {CONDITION_MODES}, got {condition_mode!r}")
        super().__init__(spec, **options)
        spec = self.spec
        if spec.condition_kind == "none":
            raise InputError(
                f"data {spec.name!r} has no condition per example; train it with model=language_model, "
                "or pick conditioned data (data=names data.source.task=generate, data=bach_chorales)"
            )
        self.condition_mode = condition_mode
        self.withhold_condition = withhold_condition
        if spec.condition_kind == "classes":
            self.condition_layer = nn.Embedding(len(spec.condition_names), condition_dim)
        else:
            self.condition_layer = nn.Sequential(nn.Linear(spec.condition_size, condition_dim), nn.Tanh())
        uses_init = condition_mode in ("init", "both")
        self.condition_bridge = StateBridge(condition_dim, self.encoder.state_sizes) if uses_init else None

    def encoder_input_size(self) -> int:
        widened = self.hparams.get("condition_mode", "both") in ("input", "both")
        return super().encoder_input_size() + (self.hparams.get("condition_dim", 32) if widened else 0)

    # --- the model ----------------------------------------------------------------------------
    def condition_vector(self, conditions: Tensor) -> Tensor:
        """Class ids (B,) or values (B, C_in) -> (B, condition_dim); the same for every row when
        withheld."""
        if self.withhold_condition:
            conditions = torch.zeros_like(conditions)
        if self.spec.condition_kind == "values":
            conditions = conditions.float()
        return self.condition_layer(conditions)

    def initial_state(self, condition: Tensor) -> EncoderState | None:
        """The generator's state before `<bos>`: from the condition in init/both modes, else None
        (the encoder's own initial state)."""
        return None if self.condition_bridge is None else self.condition_bridge(condition)

    def with_condition(self, x: Tensor, condition: Tensor) -> Tensor:
        """x (B, T, E) or (B, E) -> with the condition (B, C) appended to every step (input modes)."""
        if self.condition_mode not in ("input", "both"):
            return x
        if x.dim() == 3:
            condition = condition.unsqueeze(1).expand(-1, x.shape[1], -1)
        return torch.cat([x, condition], dim=-1)

    def forward(
        self, inputs: Tensor, lengths: Tensor, state: ConditionedState | None = None
    ) -> tuple[Tensor, EncoderOutput]:
        """inputs (B, T) ids, lengths (B,), state: the conditions (and a state to continue) ->
        (logits (B, T, V), the encoder's output)."""
        if state is None:
            raise InputError(
                "OneToMany reads a condition per sequence: pass ConditionedState(None, conditions)"
            )
        condition, rnn = self.condition_and_state(state)
        enc = self.encode(self.with_condition(self.embed(inputs), condition), lengths, rnn)
        return self.output(enc.outputs), enc

    def condition_and_state(self, state: ConditionedState) -> tuple[Tensor, EncoderState | None]:
        """The condition vectors (B, C) of a state's rows, and the recurrent state to go on from
        (the condition's initial state before the first token)."""
        condition = self.condition_vector(state.conditions)  # (B, C)
        return condition, state.rnn if state.rnn is not None else self.initial_state(condition)

    def state_after(self, state: ConditionedState, enc: EncoderOutput) -> ConditionedState:
        return ConditionedState(enc.final_state, state.conditions)

    def batch_state(self, batch: SeqBatch) -> ConditionedState:
        if batch.conditions is None:
            raise InputError(f"data {self.spec.name!r} gave a batch without conditions")
        return ConditionedState(None, batch.conditions)

    def next_token_logits(self, tokens: Tensor, state: ConditionedState) -> tuple[Tensor, ConditionedState]:
        """One step: tokens (B,) and the state before them -> (next-token logits (B, V), state)."""
        condition, rnn = self.condition_and_state(state)
        x = self.with_condition(self.embed(tokens.unsqueeze(1))[:, 0], condition)  # (B, E [+ C])
        y, rnn = self.encoder.step(x, rnn)
        return self.output(y), ConditionedState(rnn, state.conditions)

    # --- export -------------------------------------------------------------------------------
    def export_graphs(self, streaming: bool = False) -> list[Graph]:
        """The condition is one more input: `(inputs, lengths, conditions) -> logits`; streaming,
        `(inputs, conditions, state_in_*) -> (logits, state_out_*)` at the file asked for and, beside
        it, `<stem>.start<ext>`: `conditions -> state_*`, the state before `<bos>`."""
        count = state_count(self.encoder)
        if not streaming:
            axes = {"inputs": {0: "batch", 1: "steps"}, "lengths": {0: "batch"}, "conditions": {0: "batch"},
                    "logits": {0: "batch", 1: "steps"}}  # fmt: skip
            return [Graph(ConditionedSequenceGraph(self), self._conditioned_example,
                          ["inputs", "lengths", "conditions"], ["logits"], axes, stepwise=True)]  # fmt: skip
        state_in, state_out = (
            [f"state_in_{i}" for i in range(count)],
            [f"state_out_{i}" for i in range(count)],
        )
        axes = {"inputs": {0: "batch"}, "conditions": {0: "batch"}, "logits": {0: "batch"}}
        axes |= {
            name: {1: "batch"} for name in [*state_in, *state_out, *(f"state_{i}" for i in range(count))]
        }

        def step_example(lengths: tuple[int, ...]) -> tuple[Tensor, ...]:
            inputs, _, conditions = self._conditioned_example(lengths)
            return (inputs[:, 0], conditions, *ConditionedStartGraph(self)(conditions))

        step = Graph(ConditionedStepGraph(self), step_example, ["inputs", "conditions", *state_in],
                     ["logits", *state_out], axes)  # fmt: skip
        start = Graph(ConditionedStartGraph(self), lambda lengths: (self._conditioned_example(lengths)[2],),
                      ["conditions"], [f"state_{i}" for i in range(count)], axes, suffix="start")  # fmt: skip
        return [step, start]

    def _conditioned_example(self, lengths: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
        inputs, lengths_t = self.export_example(lengths)
        generator = torch.Generator().manual_seed(0)
        if self.spec.condition_kind == "values":
            return inputs, lengths_t, torch.randn(len(lengths), self.spec.condition_size, generator=generator)
        classes = max(1, len(self.spec.condition_names))
        return inputs, lengths_t, torch.randint(0, classes, (len(lengths),), generator=generator)

    def export_metadata(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "seqnet.condition_kind": spec.condition_kind,
            "seqnet.condition_names": list(spec.condition_names),
            "seqnet.condition_size": spec.condition_size,
        }

    def read_prefix(self, ids: Tensor, state: ConditionedState) -> ConditionedState:
        return ConditionedState(super().read_prefix(ids, state), state.conditions)

    # --- generation ---------------------------------------------------------------------------
    @property
    def conditioned(self) -> bool:
        """Whether the condition reaches the model (False: `withhold_condition`, the baseline)."""
        return not self.withhold_condition

    def condition_ids(self, condition: str | int | list[float] | Tensor | None, n: int) -> Tensor:
        """A condition name (or class id, or feature vector) -> raw conditions for `n` rows.
        A model trained with the condition withheld takes None (and ignores any condition)."""
        spec = self.spec
        if not self.conditioned:
            size = () if spec.condition_kind == "classes" else (spec.condition_size,)
            return torch.zeros(n, *size, dtype=torch.long, device=self.device)
        if condition is None:
            known = spec.condition_names or f"{spec.condition_size} values"
            raise InputError(f"this model generates for a condition: pass one of {known}")
        if spec.condition_kind == "classes":
            if isinstance(condition, str):
                if condition not in spec.condition_names:
                    raise InputError(
                        f"unknown condition {condition!r}; this model knows {spec.condition_names}"
                    )
                condition = spec.condition_names.index(condition)
            return torch.full((n,), int(condition), dtype=torch.long, device=self.device)
        values = torch.as_tensor(condition, dtype=torch.float32, device=self.device).reshape(1, -1)
        if values.shape[1] != spec.condition_size:
            raise InputError(f"the condition needs {spec.condition_size} values, got {values.shape[1]}")
        return values.expand(n, -1)

    @torch.no_grad()
    def generate(  # type: ignore[override]
        self,
        condition: str | int | list[float] | Tensor | None = None,
        n: int = 1,
        max_new_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        greedy_decoding: bool = False,
        prompt: str = "",
    ) -> list[str]:
        """`n` sequences for `condition` (a class name, or a feature vector; None for a model trained
        with it withheld), from `<bos>` or after `prompt`; a fixed `seed` reproduces the same samples."""
        state = ConditionedState(None, self.condition_ids(condition, n))
        return self.generate_from(
            state, prompt, max_new_tokens, n, temperature, top_k, top_p, seed, greedy_decoding
        )


class ConditionedSequenceGraph(nn.Module):
    """(inputs, lengths, conditions) -> next-token logits after every step (B, T, V)."""

    def __init__(self, task: OneToMany) -> None:
        super().__init__()
        self.task = task

    def forward(self, inputs: Tensor, lengths: Tensor, conditions: Tensor) -> tuple[Tensor]:
        return (self.task(inputs, lengths, ConditionedState(None, conditions))[0],)


class ConditionedStartGraph(nn.Module):
    """conditions -> the generator's state tensors before `<bos>` (the condition's, or the
    encoder's own initial state where the condition enters through the inputs only)."""

    def __init__(self, task: OneToMany) -> None:
        super().__init__()
        self.task = task

    def forward(self, conditions: Tensor) -> tuple[Tensor, ...]:
        _, rnn = self.task.condition_and_state(ConditionedState(None, conditions))
        if rnn is None:
            rnn = self.task.encoder.initial_state(conditions.shape[0], conditions.device)
        return tuple(flat_state(rnn))


class ConditionedStepGraph(nn.Module):
    """(tokens (B,), conditions, state tensors) -> (logits (B, V), state tensors after the step)."""

    def __init__(self, task: OneToMany) -> None:
        super().__init__()
        self.task = task

    def forward(self, inputs: Tensor, conditions: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        rnn = unflat_state(state, self.task.encoder.state_sizes)
        logits, after = self.task.next_token_logits(inputs, ConditionedState(rnn, conditions))
        return (logits, *flat_state(after.rnn))
