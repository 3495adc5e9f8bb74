"""Optimizers from config dicts: fused kernels by default where torch has them, the config's own
choice of implementation kept, and torch's default wherever fused kernels do not apply."""

import torch
from torch import nn

from seqnet.tasks.optimization import build_optimizer

ADAMW = {"_target_": "torch.optim.AdamW", "lr": 0.01, "weight_decay": 0.01}


def test_adamw_is_fused_unless_the_config_chooses_an_implementation():
    params = list(nn.Linear(3, 2).parameters())
    assert build_optimizer(ADAMW, params).defaults["fused"] is True
    assert not build_optimizer({**ADAMW, "foreach": True}, params).defaults["fused"]
    assert not build_optimizer({**ADAMW, "fused": False}, params).defaults["fused"]
    rmsprop = build_optimizer({"_target_": "torch.optim.RMSprop", "lr": 0.01}, (p for p in params))
    assert isinstance(rmsprop, torch.optim.RMSprop) and len(rmsprop.param_groups[0]["params"]) == 2


def test_parameters_without_fused_kernels_get_torchs_default_implementation():
    complex_weight = nn.Parameter(torch.ones(3, dtype=torch.complex64))  # fused needs real floats
    optimizer = build_optimizer(ADAMW, [complex_weight])
    assert not optimizer.defaults["fused"]
    complex_weight.grad = torch.ones_like(complex_weight)
    optimizer.step()
    assert complex_weight.real.lt(1).all()


def test_fused_adamw_takes_the_same_steps_as_torchs_default():
    torch.manual_seed(0)
    fused_model, loop_model = nn.LSTM(4, 8), nn.LSTM(4, 8)
    loop_model.load_state_dict(fused_model.state_dict())
    fused = build_optimizer(ADAMW, fused_model.parameters())
    loop = torch.optim.AdamW(loop_model.parameters(), lr=0.01, weight_decay=0.01)
    x = torch.randn(6, 2, 4)
    for _ in range(20):
        for model, optimizer in ((fused_model, fused), (loop_model, loop)):
            optimizer.zero_grad()
            model(x)[0].pow(2).sum().backward()
            optimizer.step()
    for a, b in zip(fused_model.parameters(), loop_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
