"""seqnet-tune: Hydra's sweep syntax read into Optuna's distributions; a study of seqnet-train runs
that several processes share through a storage URL."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seqnet.cli.overrides import OverrideError
from seqnet.cli.tune import search_space, suggest
from tests.commands import run_cli

optuna = pytest.importorskip("optuna")


def test_the_search_space_maps_each_sweep_to_its_distribution():
    space = search_space({
        "model.encoder.cell": "choice(lstm, gru)", "model.encoder.num_layers": "range(1, 4)",
        "model.optimizer.lr": "tag(log, interval(1e-4, 1e-2))",
        "model.encoder.hidden_size": "int(interval(16, 64))", "model.dropout": "interval(0.0, 0.5)",
    })  # fmt: skip
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    values = {key: suggest(trial, key, sweep) for key, sweep in space.items()}
    assert values["model.encoder.cell"] in ("lstm", "gru")
    assert values["model.encoder.num_layers"] in (1, 2, 3)  # range's stop is excluded, as in Hydra
    assert (
        isinstance(values["model.encoder.hidden_size"], int)
        and 16 <= values["model.encoder.hidden_size"] <= 64
    )
    lr = trial.distributions["model.optimizer.lr"]
    assert lr.log and lr.low == 1e-4 and lr.high == 1e-2
    assert not trial.distributions["model.dropout"].log


def test_a_fixed_value_in_the_space_is_refused_with_the_fix():
    with pytest.raises(OverrideError, match="not a search range"):
        search_space({"model.dropout": "0.1"})


def test_seqnet_train_points_to_seqnet_tune(tmp_path):
    done = run_cli("seqnet-train", "hparams_search=optuna", "debug=fast", cwd=tmp_path)
    assert done.returncode == 2 and "run seqnet-tune hparams_search=optuna" in done.stderr


@pytest.mark.slow
def test_a_three_trial_study_picks_its_best_and_a_second_process_continues_it(tmp_path):
    """Three trials, then one more from another process on the same SQLite study."""
    tune = str(Path(sys.executable).parent / "seqnet-tune")
    common = ["hparams_search=optuna", "debug=fast", "hparams_search.storage=sqlite:///study.db",
              "hparams_search.study_name=ci"]  # fmt: skip
    for trials, folder in ((3, "first"), (1, "second")):
        done = subprocess.run(
            [tune, *common, f"hparams_search.n_trials={trials}", f"hydra.run.dir={folder}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    first = yaml.safe_load((tmp_path / "first" / "optimization_results.yaml").read_text())
    assert first["monitor"] == "val/loss" and first["direction"] == "minimize"
    values = [t["value"] for t in first["trials"]]
    assert len(values) == 3 and first["best_value"] == min(values)
    assert all(
        (tmp_path / "first" / "trials" / str(n) / "tensorboard" / "hparams.yaml").is_file() for n in range(3)
    )
    second = yaml.safe_load((tmp_path / "second" / "optimization_results.yaml").read_text())
    assert len(second["trials"]) == 4  # the shared study holds both processes' trials
