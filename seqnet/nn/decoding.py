"""Decoding over a step function: greedy, sampling (temperature, top-k, top-p) and beam search.

Every decoder drives the same contract, so language models, seq2seq and conditioned generation
share them:

    step_fn(tokens (B,), state) -> (logits (B, V), state)

`state` is anything with `index_select(rows)` (e.g. `EncoderState`), which beam search uses to
follow its hypotheses. Decoding starts from `start` tokens (B,) (e.g. `<bos>` or a prompt's last
token) and the state reached before them, and stops at `eos_id` or after `max_length` tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from seqnet.errors import InputError

StepFn = Callable[[Tensor, Any], tuple[Tensor, Any]]


@dataclass
class Decoded:
    """tokens (B, L) padded with `pad_id` after each end; lengths (B,) generated tokens (the end
    token included); scores (B,) summed log-probabilities of the tokens under the model."""

    tokens: Tensor
    lengths: Tensor
    scores: Tensor


def greedy(
    step_fn: StepFn, start: Tensor, state: Any, max_length: int, eos_id: int | None = None, pad_id: int = 0
) -> Decoded:
    """The most likely token at every step."""
    return _decode_one_path(
        step_fn, start, state, max_length, eos_id, pad_id, lambda logits: logits.argmax(-1)
    )


def sample(
    step_fn: StepFn,
    start: Tensor,
    state: Any,
    max_length: int,
    eos_id: int | None = None,
    pad_id: int = 0,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Decoded:
    """Draw each token from softmax(logits / temperature), restricted to the `top_k` most likely
    tokens and to the smallest set whose probability reaches `top_p` (nucleus), when given.
    A seeded `generator` reproduces the same sample."""
    if temperature <= 0:
        raise InputError(
            f"temperature must be > 0 (use greedy() for the most likely tokens), got {temperature}"
        )
    if top_k is not None and top_k < 1:
        raise InputError(f"top_k must be at least 1, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise InputError(f"top_p must be in (0, 1], got {top_p}")

    def pick(logits: Tensor) -> Tensor:
        probs = filter_logits(logits.float() / temperature, top_k, top_p).softmax(-1)  # (B, V)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)

    return _decode_one_path(step_fn, start, state, max_length, eos_id, pad_id, pick)


def filter_logits(logits: Tensor, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """logits (B, V) with everything outside the top-k / top-p set at -inf."""
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)  # (B, V)
        drop = cumulative - sorted_logits.softmax(-1) >= top_p  # mass before this token already enough
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    return logits


def _decode_one_path(
    step_fn: StepFn,
    start: Tensor,
    state: Any,
    max_length: int,
    eos_id: int | None,
    pad_id: int,
    pick: Callable[[Tensor], Tensor],
) -> Decoded:
    batch = start.shape[0]
    tokens = start
    done = torch.zeros(batch, dtype=torch.bool, device=start.device)
    lengths = torch.zeros(batch, dtype=torch.int64, device=start.device)
    scores = torch.zeros(batch, device=start.device)
    out = []
    for _ in range(max_length):
        logits, state = step_fn(tokens, state)  # (B, V)
        tokens = pick(logits)  # (B,)
        log_probs = logits.float().log_softmax(-1).gather(1, tokens.unsqueeze(1)).squeeze(1)
        scores = scores + log_probs.masked_fill(done, 0.0)
        lengths = lengths + (~done).long()
        out.append(tokens.masked_fill(done, pad_id))
        if eos_id is not None:
            done = done | (tokens == eos_id)
            if bool(done.all()):
                break
    return Decoded(torch.stack(out, dim=1), lengths, scores)


def beam_search(
    step_fn: StepFn,
    start: Tensor,
    state: Any,
    max_length: int,
    beam_size: int = 4,
    eos_id: int | None = None,
    pad_id: int = 0,
    length_penalty: float = 1.0,
) -> Decoded:
    """Keep the `beam_size` best partial sequences per batch row; return the best finished one.

    Hypotheses are ranked by log-probability / length ** length_penalty (0 ranks by the raw
    log-probability, larger values favour longer outputs). A row is done once it holds
    `beam_size` finished hypotheses; after `max_length` steps unfinished ones compete too.
    `beam_size=1` is greedy decoding.
    """
    if beam_size < 1:
        raise InputError(f"beam_size must be at least 1, got {beam_size}")
    batch, device = start.shape[0], start.device
    rows = torch.arange(batch, device=device).repeat_interleave(beam_size)  # (B*K,)
    tokens = start.index_select(0, rows)
    state = state.index_select(rows)
    scores = torch.full((batch, beam_size), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    history = torch.empty(batch * beam_size, 0, dtype=torch.long, device=device)
    finished: list[list[tuple[float, float, list[int]]]] = [[] for _ in range(batch)]

    def rank(score: float, length: int) -> float:
        return score / (length**length_penalty) if length_penalty else score

    for _ in range(max_length):
        logits, state = step_fn(tokens, state)  # (B*K, V)
        vocab = logits.shape[-1]
        log_probs = logits.float().log_softmax(-1).view(batch, beam_size, vocab)
        candidates = (scores.unsqueeze(-1) + log_probs).view(batch, beam_size * vocab)
        width = min(2 * beam_size, beam_size * vocab)
        top_scores, top_ids = candidates.topk(width, dim=1)  # (B, 2K)
        beam, token = top_ids // vocab, top_ids % vocab
        is_end = token == eos_id if eos_id is not None else torch.zeros_like(token, dtype=torch.bool)
        for b, j in is_end[:, :beam_size].nonzero().tolist():  # an end among the best K finishes
            if len(finished[b]) < beam_size and math.isfinite(float(top_scores[b, j])):
                sequence = [*history[b * beam_size + int(beam[b, j])].tolist(), int(token[b, j])]
                score = float(top_scores[b, j])
                finished[b].append((rank(score, len(sequence)), score, sequence))
        # continue with the best K candidates that did not end
        order = torch.where(
            is_end, width + torch.arange(width, device=device), torch.arange(width, device=device)
        )
        keep = order.argsort(dim=1)[:, :beam_size]  # (B, K)
        parents = beam.gather(1, keep) + torch.arange(batch, device=device).unsqueeze(1) * beam_size
        scores = top_scores.gather(1, keep).masked_fill(is_end.gather(1, keep), float("-inf"))
        tokens = token.gather(1, keep).view(-1)
        parents = parents.view(-1)
        history = torch.cat([history.index_select(0, parents), tokens.unsqueeze(1)], dim=1)
        state = state.index_select(parents)
        if all(len(f) >= beam_size for f in finished):
            break
    for b in range(batch):  # unfinished hypotheses compete at the length limit
        if len(finished[b]) < beam_size:
            for k in range(beam_size):
                score = float(scores[b, k])
                if math.isfinite(score):
                    sequence = history[b * beam_size + k].tolist()
                    finished[b].append((rank(score, len(sequence)), score, sequence))
    best = [max(f, key=lambda item: item[0]) for f in finished]
    longest = max(len(sequence) for _, _, sequence in best)
    out = torch.full((batch, longest), pad_id, dtype=torch.long, device=device)
    for b, (_, _, sequence) in enumerate(best):
        out[b, : len(sequence)] = torch.tensor(sequence, dtype=torch.long, device=device)
    return Decoded(
        out,
        torch.tensor([len(s) for _, _, s in best], device=device),
        torch.tensor([score for _, score, _ in best], device=device),
    )
