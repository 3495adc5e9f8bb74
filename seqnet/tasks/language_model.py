"""`LanguageModel`: next-token prediction over token sequences, and generation from a prompt."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from seqnet.data import IGNORE_INDEX, DataSpec, SeqBatch, Vocabulary
from seqnet.errors import InputError
from seqnet.nn import EncoderOutput, EncoderState
from seqnet.nn.decoding import greedy, sample
from seqnet.tasks.base import SequenceModule, StepOutput, last_target_step
from seqnet.tasks.outputs import TokenOutput


class LanguageModel(SequenceModule):
    """Predict each next token: embed -> unidirectional encoder -> vocabulary logits at every step.

    Metrics: per-token NLL (nats), perplexity and, for character data, bits per character.
    `generate` carries the recurrent state token by token (the prefix is read once, never again).

    Hooks: `embed`, `encode` (see `SequenceModule`), `next_token_logits(tokens, state)` (one step,
    the function every decoder in `seqnet.nn.decoding` drives).

    Args:
        spec: the data set's `DataSpec` (or its dict).
        dropout: dropout on the encoder outputs before the vocabulary head (and on the embeddings).
        tie_weights: share the input embedding with the output head (needs `embedding_dim` equal to
            the encoder's output size).
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("tokens",)
    CONFIG_NAME = "language_model"
    CAPABILITIES = frozenset({"stateful"})
    PROMPT_AFTER_BOS = False  # True where every training sequence starts with <bos> (OneToMany)

    def __init__(
        self,
        spec: DataSpec | dict,
        dropout: float = 0.0,
        tie_weights: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        spec = self.spec
        if spec.input_kind != "tokens" or not spec.aligned or spec.vocab != spec.target_vocab:
            raise InputError(
                f"a language model reads tokens and predicts the next one over the same vocabulary; "
                f"data {spec.name!r} has {spec.input_kind} inputs and "
                f"{'aligned' if spec.aligned else 'unaligned'} targets over "
                f"{'the same' if spec.vocab == spec.target_vocab else 'another'} vocabulary"
            )
        if self.frontend is not None:
            raise InputError(
                "a language model must not see the tokens it predicts: a front-end's convolutions read "
                "the steps after each token; drop model.frontend"
            )
        if self.encoder.bidirectional:
            raise InputError(
                "a language model must not see the tokens it predicts: a bidirectional encoder reads the "
                "future; use a unidirectional one (model.encoder.bidirectional=false)"
            )
        characters = (spec.tokenizer or {}).get("name") == "char"
        tied = self.input_layer.layer if tie_weights else None
        self.embedding_dropout = torch.nn.Dropout(dropout)
        self.output = TokenOutput(self.encoder.output_size, spec.target_vocab, dropout, tied, bits=characters)
        self.vocabulary = Vocabulary(spec.target_vocab)
        self.setup_metrics()

    def embed(self, inputs: Tensor) -> Tensor:
        return self.embedding_dropout(super().embed(inputs))

    def forward(
        self, inputs: Tensor, lengths: Tensor, state: EncoderState | None = None
    ) -> tuple[Tensor, EncoderOutput]:
        """inputs (B, T) ids, lengths (B,) -> (logits (B, T, V), the encoder's output).

        The encoder output, not its final state: reading `final_state` can cost a second pass
        (an LSTM over variable lengths), which a training step must not pay for a state it drops.
        """
        enc = self.encode(self.embed(inputs), lengths, state)
        return self.output(enc.outputs), enc

    EXPORT_OUTPUTS = ("logits",)  # (B, T, V) next-token logits after every step
    EXPORT_STEPWISE = True

    def export_outputs(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        return (self(inputs, lengths)[0],)

    def export_step(self, inputs: Tensor, state: EncoderState) -> tuple[Tensor, EncoderState]:
        """`next_token_logits`: token ids (B,) and the state before them -> (logits (B, V), state)."""
        return self.next_token_logits(inputs, state)

    def step(self, batch: SeqBatch) -> StepOutput:
        """Next-token loss against the batch's targets, and what the metrics read."""
        logits, _ = self(batch.inputs, batch.lengths, self.batch_state(batch))
        return self.scored(logits, batch)

    def step_from(self, batch: SeqBatch, state: Any) -> tuple[StepOutput, Any]:
        logits, enc = self(batch.inputs, batch.lengths, state)
        return self.scored(logits, batch), self.state_after(state, enc)

    def probe_loss(self, batch: SeqBatch) -> Tensor:
        logits, _ = self(batch.inputs, batch.lengths, self.batch_state(batch))
        return self.scored(*last_target_step(logits, batch)).loss

    def state_after(self, state: Any, enc: EncoderOutput) -> Any:
        """The state to continue from after a step that started from `state`: the encoder's."""
        return enc.final_state

    def scored(self, logits: Tensor, batch: SeqBatch) -> StepOutput:
        """The next-token loss of logits (B, T, V) against the batch's targets."""
        mask = batch.target_mask
        targets = batch.targets.masked_fill(~mask, IGNORE_INDEX)
        loss, weight = self.output.loss(logits, targets)
        return StepOutput(loss, weight, logits.detach(), targets, mask)

    def next_token_logits(self, tokens: Tensor, state: EncoderState | None) -> tuple[Tensor, EncoderState]:
        """One step: tokens (B,) and the state before them -> (next-token logits (B, V), state)."""
        x = self.embed(tokens.unsqueeze(1))[:, 0]  # (B, E)
        y, state = self.encoder.step(x, state)
        return self.output(y), state

    def predict_step(self, batch: SeqBatch, batch_idx: int = 0) -> dict[str, Any]:
        """{"probs" (B, T, V)}: the next-token distribution after every input step."""
        logits, _ = self(batch.inputs, batch.lengths, self.batch_state(batch))
        return {"probs": logits.softmax(-1)}

    @torch.no_grad()
    def generate(
        self,
        prompt: str = "",
        max_new_tokens: int = 200,
        n: int = 1,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        greedy_decoding: bool = False,
    ) -> list[str]:
        """`n` continuations of `prompt` (text; tokenised as in training), each with the prompt.

        An empty prompt starts from `<bos>` (data sets whose sequences start with it: names,
        melodies). Generation stops at `<eos>` or after `max_new_tokens`; a fixed `seed`
        reproduces the same samples.
        """
        return self.generate_from(
            None, prompt, max_new_tokens, n, temperature, top_k, top_p, seed, greedy_decoding
        )

    def generate_from(
        self,
        state: Any,
        prompt: str,
        max_new_tokens: int,
        n: int,
        temperature: float,
        top_k: int | None,
        top_p: float | None,
        seed: int | None,
        greedy_decoding: bool,
    ) -> list[str]:
        """`generate` from a given state before the prompt (None: the encoder's initial state)."""
        if n < 1 or max_new_tokens < 1:
            raise InputError(
                f"n and max_new_tokens must be at least 1, got n={n}, max_new_tokens={max_new_tokens}"
            )
        tokenizer = self.spec.text_tokenizer()
        ids = self.vocabulary.encode(tokenizer.tokenize(prompt))
        if self.PROMPT_AFTER_BOS or not ids:
            ids = [self.vocabulary.bos_id, *ids]
        prefix = torch.tensor(ids, device=self.device).unsqueeze(0).expand(n, -1)  # (n, P)
        if prefix.shape[1] > 1:  # read the prompt but its last token once; generation steps on
            state = self.read_prefix(prefix[:, :-1], state)
        eos = self.vocabulary.eos_id
        if greedy_decoding:
            decoded = greedy(self.next_token_logits, prefix[:, -1], state, max_new_tokens, eos)
        else:
            generator = torch.Generator(device=self.device)
            generator.manual_seed(seed if seed is not None else int(torch.randint(2**31, (1,))))
            decoded = sample(
                self.next_token_logits, prefix[:, -1], state, max_new_tokens, eos,
                temperature=temperature, top_k=top_k, top_p=top_p, generator=generator,
            )  # fmt: skip
        texts = []
        for row, length in zip(decoded.tokens.tolist(), decoded.lengths.tolist(), strict=True):
            words = self.vocabulary.decode(row[:length])  # specials (<eos>) dropped
            texts.append(prompt + tokenizer.detokenize(words))
        return texts

    def read_prefix(self, ids: Tensor, state: Any) -> Any:
        """The state after reading token ids (B, P) from `state`."""
        _, enc = self(ids, torch.full((ids.shape[0],), ids.shape[1], dtype=torch.long), state)
        return enc.final_state
