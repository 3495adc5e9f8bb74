"""Property: what a sequence gets from collate, its mask, any cell on any route and any pooling never
depends on the other sequences of its batch, on their lengths, or on how much padding follows it."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqnet.data import collate_sequences
from seqnet.nn import RecurrentEncoder
from seqnet.nn.cells import CELLS, ROUTES
from seqnet.nn.pooling import POOLINGS, build_pooling


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6),
    extra_padding=st.integers(min_value=0, max_value=4),
    cell=st.sampled_from(sorted(CELLS)),
    route=st.sampled_from(ROUTES),
    bidirectional=st.booleans(),
    pooling=st.sampled_from(POOLINGS),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_a_sequences_outputs_never_depend_on_the_rest_of_its_batch(
    lengths, extra_padding, cell, route, bidirectional, pooling, seed
):
    generator = torch.Generator().manual_seed(seed)
    sequences = [torch.randn(n, 3, generator=generator, dtype=torch.float64) for n in lengths]
    batch = collate_sequences([(x, torch.tensor(0), None, None) for x in sequences])
    garbage = torch.full((len(lengths), extra_padding, 3), 99.0, dtype=torch.float64)
    inputs = torch.cat([batch.inputs, garbage], dim=1)  # (B, T + extra, 3)
    assert batch.mask.sum(1).tolist() == lengths
    torch.manual_seed(seed)
    encoder = RecurrentEncoder(3, 4, cell=cell, num_layers=2, bidirectional=bidirectional, route=route)
    encoder = encoder.double().eval()
    pool = build_pooling(pooling, encoder.output_size).double()
    together = encoder(inputs, batch.lengths)
    pooled = pool(together)  # (B, H)
    for i, x in enumerate(sequences):
        alone = encoder(x[None], torch.tensor([len(x)]))
        torch.testing.assert_close(together.outputs[i, : len(x)], alone.outputs[0])
        assert torch.all(together.outputs[i, len(x) :] == 0)
        torch.testing.assert_close(pooled[i], pool(alone)[0])
        for state_together, state_alone in zip(together.final_state, alone.final_state, strict=True):
            for part_together, part_alone in zip(state_together, state_alone, strict=True):
                torch.testing.assert_close(part_together[:, i], part_alone[:, 0])
