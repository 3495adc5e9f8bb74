import itertools

import torch

from seqnet.nn.crf import LinearChainCRF


def random_crf(num_tags: int, seed: int = 0) -> LinearChainCRF:
    torch.manual_seed(seed)
    crf = LinearChainCRF(num_tags).double()
    with torch.no_grad():
        for param in crf.parameters():
            param.normal_()
    return crf


def brute_force(crf, emissions, length):
    """Score of every tag sequence of one sentence of `length` steps, by enumeration."""
    mask = torch.zeros(1, emissions.shape[1], dtype=torch.bool)
    mask[0, :length] = True
    paths = list(itertools.product(range(crf.num_tags), repeat=length))
    scores = []
    for path in paths:
        tags = torch.zeros(1, emissions.shape[1], dtype=torch.long)
        tags[0, :length] = torch.tensor(path)
        scores.append(crf.score(emissions, tags, mask))
    return paths, torch.cat(scores)


def tiny_batch(num_tags: int, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Random emissions (B, T, C) and the mask of `lengths` (T = the longest)."""
    emissions = torch.randn(len(lengths), max(lengths), num_tags, dtype=torch.float64)
    return emissions, torch.arange(max(lengths)).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)


def test_partition_function_equals_brute_force_enumeration():
    crf = random_crf(3)
    emissions, mask = tiny_batch(3, [4, 2, 1])
    log_z = crf.log_partition(emissions, mask)
    for i, length in enumerate(mask.sum(1).tolist()):
        _, scores = brute_force(crf, emissions[i : i + 1], length)
        torch.testing.assert_close(log_z[i], scores.logsumexp(0))


def test_viterbi_finds_the_best_sequence_by_brute_force():
    crf = random_crf(4, seed=1)
    emissions, mask = tiny_batch(4, [5, 3, 1])
    decoded = crf.decode(emissions, mask)
    for i, length in enumerate(mask.sum(1).tolist()):
        paths, scores = brute_force(crf, emissions[i : i + 1], length)
        assert decoded[i, :length].tolist() == list(paths[int(scores.argmax())])
        assert torch.all(decoded[i, length:] == -100)


def test_nll_is_positive_and_trains_towards_the_gold_tags():
    crf = random_crf(3)
    emissions = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    tags = torch.randint(0, 3, (2, 6))
    mask = torch.ones(2, 6, dtype=torch.bool)
    optimizer = torch.optim.Adam([emissions, *crf.parameters()], lr=0.1)
    for _ in range(100):
        optimizer.zero_grad()
        loss = crf.nll(emissions, tags, mask).sum()
        assert loss > 0
        loss.backward()
        optimizer.step()
    assert torch.equal(crf.decode(emissions, mask), tags)
