"""`Seq2Seq`: many-to-many, unaligned. A source token sequence in, a target token sequence of its own
length out: transliteration, grapheme-to-phoneme, translation."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn

from seqnet.data import IGNORE_INDEX, DataSpec, SeqBatch, Vocabulary
from seqnet.data.prediction import PredictionInput
from seqnet.errors import InputError
from seqnet.nn import EncoderOutput
from seqnet.nn.decoder import DecoderState, RecurrentDecoder, StateBridge
from seqnet.nn.decoding import Decoded, beam_search, greedy
from seqnet.tasks.base import BIDIRECTIONAL_ENCODER, SequenceModule, StepOutput
from seqnet.tasks.export import Graph, flat_state, state_count, unflat_state
from seqnet.tasks.outputs import DecodedOutput

DEFAULT_DECODER = {"cell": "lstm", "hidden_size": 256, "attention": "general", "input_feed": True}
BRIDGES = ("linear", "none")


class Seq2Seq(SequenceModule):
    """Encoder-decoder with attention: embed the source -> `RecurrentEncoder` -> `RecurrentDecoder`
    (started by a `StateBridge` from the encoder's summary, attending over its outputs).

    Training is teacher-forced (optionally with scheduled sampling and label smoothing), the loss
    a mean over target tokens. Validation and test decode (greedy, or beam search with
    `beam_size` > 1) and score the decoded text: `seq_acc`, `ter` (token error rate) and, for word
    targets, `bleu`; `loss` stays the teacher-forced loss of the reference.

    Hooks: `embed`, `encode` (see `SequenceModule`), `start_decoder(enc)`, `decode(inputs,
    lengths)`, and the decoder's own parts (`seqnet.nn.decoder`, your attention scorer).

    Args:
        spec: the data set's `DataSpec` (or its dict): token inputs, token targets (ending in
            `<eos>`), not aligned.
        decoder: `RecurrentDecoder` arguments: cell, hidden_size, num_layers, dropout, attention
            (none | dot | general | additive | an import path), input_feed, embedding_dim
            (default: the task's `embedding_dim`), and any other encoder option of its core.
        bridge: "linear" starts the decoder from the encoder's summary; "none" from zeros.
        sampling_ratio: scheduled sampling, the chance a training step is fed the model's own
            previous prediction instead of the reference.
        label_smoothing: share of probability spread over the target vocabulary in the loss.
        beam_size / length_penalty: decoding for validation, test and prediction (1: greedy).
        max_length_ratio / max_length_offset: a row decodes at most ratio * source length +
            offset tokens.
        bleu: report corpus BLEU; None reports it when the target tokenizer splits words.
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("tokens",)
    DEFAULT_ENCODER = BIDIRECTIONAL_ENCODER
    CONFIG_NAME = "seq2seq"
    CAPABILITIES = frozenset({"predict"})

    def __init__(
        self,
        spec: DataSpec | dict,
        decoder: dict | None = None,
        bridge: str = "linear",
        sampling_ratio: float = 0.0,
        label_smoothing: float = 0.0,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        max_length_ratio: float = 2.0,
        max_length_offset: int = 10,
        bleu: bool | None = None,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        spec = self.spec
        if spec.input_kind != "tokens" or spec.aligned:
            raise InputError(
                "Seq2Seq reads source tokens and generates a target sequence of its own length; data "
                f"{spec.name!r} has {spec.input_kind} inputs and "
                f"{'aligned' if spec.aligned else 'unaligned'} targets (aligned: model=many_to_many)"
            )
        if bridge not in BRIDGES:
            raise InputError(f"bridge must be one of {BRIDGES}, got {bridge!r}")
        if not 0.0 <= sampling_ratio <= 1.0:
            raise InputError(f"sampling_ratio must be in [0, 1], got {sampling_ratio}")
        if beam_size < 1:
            raise InputError(f"beam_size must be at least 1, got {beam_size}")
        self.vocabulary = Vocabulary(spec.target_vocab)
        settings = {**DEFAULT_DECODER, **(decoder or {})}
        settings.setdefault("embedding_dim", self.input_layer.output_size)
        self.hparams["decoder"] = settings  # recorded: a later default cannot change it
        self.decoder = RecurrentDecoder(
            len(self.vocabulary), self.encoder.output_size, pad_id=self.vocabulary.pad_id, **settings
        )
        self.bridge = (
            StateBridge(self.encoder.output_size, self.decoder.core.state_sizes)
            if bridge == "linear"
            else None
        )
        self.sampling_ratio = sampling_ratio
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_length_ratio = max_length_ratio
        self.max_length_offset = max_length_offset
        if bleu is None:
            bleu = (spec.target_tokenizer or {}).get("name") == "word"
        self.output = DecodedOutput(spec.target_vocab, label_smoothing, bleu=bleu)
        self.setup_metrics()
        self.train_metrics = self.output.training_metrics().clone(prefix="train/")

    @classmethod
    def unrecorded_defaults(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """Formats 1-2 also left out the decoder's defaults: then a 128-unit LSTM."""
        decoder = {**DEFAULT_DECODER, "hidden_size": 128, **(settings.get("decoder") or {})}
        return {**super().unrecorded_defaults(settings), "decoder": decoder}

    def default_monitor(self, known: list[str]) -> str:
        """Checkpoints follow the token error rate of the decoded output, what the task is for."""
        return "val/ter"

    # --- the model ----------------------------------------------------------------------------
    def start_decoder(self, enc: EncoderOutput) -> DecoderState:
        """The decoder's state before `<bos>`: bridged from the encoder summary, with its memory."""
        batch = enc.outputs.shape[0]
        if self.bridge is not None:
            rnn = self.bridge(enc.last)
        else:
            rnn = self.decoder.core.initial_state(batch, enc.outputs.device, enc.outputs.dtype)
        return self.decoder.start(rnn, enc.outputs, enc.mask)

    def forward(
        self, inputs: Tensor, lengths: Tensor, decoder_inputs: Tensor, decoder_lengths: Tensor
    ) -> tuple[Tensor, Tensor | None, EncoderOutput]:
        """Teacher forcing: source ids (B, S) with lengths (B,), decoder inputs (B, T) (`<bos>` and
        the target without its end) with lengths (B,) -> (logits (B, T, V), attention weights
        (B, T, S) or None, the encoder output)."""
        enc = self.encode(self.embed(inputs), lengths)
        ratio = self.sampling_ratio if self.training else 0.0
        logits, weights = self.decoder(decoder_inputs, decoder_lengths, self.start_decoder(enc), ratio)
        return logits, weights, enc

    # --- export -------------------------------------------------------------------------------
    def export_graphs(self, streaming: bool = False) -> list[Graph]:
        """Two graphs: the encoder at the file asked for, `(inputs, lengths) -> the decoder's start
        (state_*, feed, memory, keys, mask)`, and beside it `<stem>.decoder_step<ext>`, `(tokens,
        that state) -> (logits, the state after)`: a greedy or beam loop around them decodes as
        `decode` does (docs/export.md has the greedy one)."""
        if streaming:
            raise InputError(
                "a seq2seq model exports its encoder and one-step decoder graphs together; "
                "drop streaming=true"
            )
        start = self._decoder_start_names()  # state_*, feed, memory, keys, mask
        carried = start[: self._carried()]  # what each step changes
        encoder = Graph(
            Seq2SeqEncoderGraph(self), self.export_example, ["inputs", "lengths"], start,
            {"inputs": {0: "batch", 1: "source_steps"}, "lengths": {0: "batch"}}
            | {name: _start_axis(name) for name in start},
        )  # fmt: skip
        inputs = ["tokens", *(f"{n}_in" for n in carried), *start[len(carried) :]]
        outputs = ["logits", *(f"{n}_out" for n in carried)]
        axes = {"tokens": {0: "batch"}, "logits": {0: "batch"}}
        axes |= {
            name: _start_axis(name.removesuffix("_in").removesuffix("_out"))
            for name in inputs[1:] + outputs[1:]
        }
        decoder = Graph(
            Seq2SeqDecoderStep(self), self._decoder_example, inputs, outputs, axes, suffix="decoder_step"
        )
        return [encoder, decoder]

    def _rnn_tensors(self) -> int:
        return state_count(self.decoder.core)

    def _carried(self) -> int:
        """The start tensors that change from step to step: the core's state, and the feed."""
        return self._rnn_tensors() + int(self.decoder.input_feed)

    def _decoder_start_names(self) -> list[str]:
        names = [f"state_{i}" for i in range(self._rnn_tensors())]
        names += ["feed"] if self.decoder.input_feed else []
        return names + (["memory", "keys", "mask"] if self.decoder.attention is not None else [])

    def _decoder_example(self, lengths: tuple[int, ...]) -> tuple[Tensor, ...]:
        start = Seq2SeqEncoderGraph(self)(*self.export_example(lengths))
        return (torch.full((len(lengths),), self.vocabulary.bos_id), *start)

    def export_metadata(self) -> dict[str, Any]:
        """What the decoding loop needs besides the graphs: the special ids and the length bound."""
        vocabulary = self.vocabulary
        return {
            "seqnet.bos_id": vocabulary.bos_id, "seqnet.eos_id": vocabulary.eos_id,
            "seqnet.pad_id": vocabulary.pad_id,
            "seqnet.target_vocabulary": list(self.spec.target_vocab),
            "seqnet.max_length_ratio": self.max_length_ratio,
            "seqnet.max_length_offset": self.max_length_offset,
        }  # fmt: skip

    def decoder_inputs(self, targets: Tensor) -> Tensor:
        """targets (B, T) ending in `<eos>` -> what the decoder reads: `<bos>`, then targets[:, :-1]."""
        bos = torch.full_like(targets[:, :1], self.vocabulary.bos_id)
        return torch.cat([bos, targets[:, :-1]], dim=1)

    def step(self, batch: SeqBatch) -> StepOutput:
        """Teacher-forced loss; the metrics read the most likely token at every step."""
        logits, _, _ = self._teacher_forced(batch)
        loss, weight, targets = self._loss(logits, batch)
        return StepOutput(loss, weight, logits.detach().argmax(-1), targets, batch.target_mask)

    def evaluation_step(self, batch: SeqBatch) -> StepOutput:
        """The teacher-forced loss of the reference, and the decoded text for the metrics."""
        logits, _, enc = self._teacher_forced(batch)
        loss, weight, _ = self._loss(logits, batch)
        decoded = self.decode_from(enc, batch.lengths)
        hypotheses = self.token_strings(decoded.tokens, decoded.lengths)
        references = self.token_strings(batch.targets, batch.target_lengths)
        return StepOutput(loss, weight, hypotheses, references, batch.target_mask)

    def _teacher_forced(self, batch: SeqBatch) -> tuple[Tensor, Tensor | None, EncoderOutput]:
        inputs = self.decoder_inputs(batch.targets)
        return self(batch.inputs, batch.lengths, inputs, batch.target_lengths)

    def _loss(self, logits: Tensor, batch: SeqBatch) -> tuple[Tensor, Tensor, Tensor]:
        targets = batch.targets.masked_fill(~batch.target_mask, IGNORE_INDEX)
        loss, weight = self.output.loss(logits, targets)
        return loss, weight, targets

    # --- decoding -----------------------------------------------------------------------------
    @torch.no_grad()
    def decode(self, inputs: Tensor, lengths: Tensor, beam_size: int | None = None) -> Decoded:
        """Source ids (B, S) and lengths (B,) -> `Decoded` target ids (ending in `<eos>` unless cut
        at the length bound), greedy or with beam search (`beam_size`, default the task's)."""
        return self.decode_from(self.encode(self.embed(inputs), lengths), lengths, beam_size)

    def decode_from(self, enc: EncoderOutput, lengths: Tensor, beam_size: int | None = None) -> Decoded:
        """Decode from an encoder output (the one the loss already computed, during evaluation)."""
        limit = (lengths.float() * self.max_length_ratio + self.max_length_offset).ceil().long()
        state = replace(self.start_decoder(enc), limit=limit.to(enc.outputs.device))
        start = torch.full((len(lengths),), self.vocabulary.bos_id, device=enc.outputs.device)
        max_length = int(limit.max()) if len(limit) else 1
        eos, pad = self.vocabulary.eos_id, self.vocabulary.pad_id
        beam_size = beam_size or self.beam_size
        if beam_size > 1:
            return beam_search(
                self.bounded_step, start, state, max_length, beam_size, eos, pad, self.length_penalty
            )
        return greedy(self.bounded_step, start, state, max_length, eos, pad)

    @torch.no_grad()
    def decode_with_attention(self, inputs: Tensor, lengths: Tensor) -> tuple[Decoded, Tensor | None]:
        """`decode`, and the attention weights (B, L, S) behind each decoded token (None without
        attention): what TensorBoard's attention heatmaps show."""
        decoded = self.decode(inputs, lengths)
        _, weights, _ = self(inputs, lengths, self.decoder_inputs(decoded.tokens), decoded.lengths)
        return decoded, weights

    def bounded_step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """The decoder's step, with `<eos>` forced on rows that reached their length bound."""
        logits, state = self.decoder.step(tokens, state)  # (B, V)
        if state.limit is not None:
            over = (state.steps >= state.limit).unsqueeze(1)  # (B, 1)
            forced = torch.full_like(logits, -math.inf)
            forced[:, self.vocabulary.eos_id] = 0.0
            logits = torch.where(over, forced, logits)
        return logits, state

    def target_tokens(self, ids: Tensor, lengths: Tensor) -> list[list[str]]:
        """Target ids (B, T) with lengths (B,) -> each row's tokens, specials dropped."""
        return [
            self.vocabulary.decode(row[:n]) for row, n in zip(ids.tolist(), lengths.tolist(), strict=True)
        ]

    def token_strings(self, ids: Tensor, lengths: Tensor) -> list[str]:
        """Target ids -> one space-joined token string per row: what the text metrics compare."""
        return [" ".join(tokens) for tokens in self.target_tokens(ids, lengths)]

    def texts(self, ids: Tensor, lengths: Tensor) -> list[str]:
        """Target ids -> text, joined the way the target tokenizer splits (characters, words)."""
        tokenizer = self.spec.target_text_tokenizer()
        return [tokenizer.detokenize(tokens) for tokens in self.target_tokens(ids, lengths)]

    def predict_step(self, batch: SeqBatch, batch_idx: int = 0) -> dict[str, Any]:
        """{"text": decoded target text per row, "tokens": its ids (B, L), "lengths" (B,)}."""
        decoded = self.decode(batch.inputs, batch.lengths)
        return {
            "text": self.texts(decoded.tokens, decoded.lengths),
            "tokens": decoded.tokens,
            "lengths": decoded.lengths,
        }

    def record(self, prediction: dict[str, Any], row: int, source: PredictionInput) -> dict[str, Any]:
        """{"output": the decoded text, "output_tokens": its tokens}."""
        length = int(prediction["lengths"][row])
        tokens = self.vocabulary.decode(prediction["tokens"][row, :length].tolist())
        return {"output": prediction["text"][row], "output_tokens": tokens}


def _start_axis(name: str) -> dict[int, str]:
    """Dynamic axes of a decoder start tensor: states (L, B, S); feed (B, H); memory, keys (B, S, ·)
    and mask (B, S) over the source steps."""
    if name.startswith("state_"):
        return {1: "batch"}
    if name == "feed":
        return {0: "batch"}
    return {0: "batch", 1: "source_steps"}


class Seq2SeqEncoderGraph(nn.Module):
    """(source ids, lengths) -> the decoder's start: its state tensors, feed, memory, keys, mask."""

    def __init__(self, task: Seq2Seq) -> None:
        super().__init__()
        self.task = task

    def forward(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        task = self.task
        start = task.start_decoder(task.encode(task.embed(inputs), lengths))
        return tuple(_decoder_tensors(start))


class Seq2SeqDecoderStep(nn.Module):
    """(tokens (B,), the decoder's start or carried tensors) -> (logits (B, V), carried tensors)."""

    def __init__(self, task: Seq2Seq) -> None:
        super().__init__()
        self.task = task

    def forward(self, tokens: Tensor, *tensors: Tensor) -> tuple[Tensor, ...]:
        decoder = self.task.decoder
        count = state_count(decoder.core)
        rest = list(tensors[count:])
        feed = rest.pop(0) if decoder.input_feed else None
        memory, keys, mask = rest if decoder.attention is not None else (None, None, None)
        state = DecoderState(
            unflat_state(tensors[:count], decoder.core.state_sizes), feed, memory, keys, mask
        )
        logits, after = decoder.step(tokens, state)
        return (logits, *flat_state(after.rnn), *([after.feed] if decoder.input_feed else []))


def _decoder_tensors(state: DecoderState) -> list[Tensor]:
    optional = [state.feed, state.memory, state.keys, state.mask]
    return [*flat_state(state.rnn), *(t for t in optional if t is not None)]
