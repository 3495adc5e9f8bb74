"""`seqnet-tune`: a hyperparameter search over `seqnet-train` runs with Optuna (docs/sweeps.md).

seqnet-tune hparams_search=optuna [hparams_search.n_trials=20] [hparams_search.storage=sqlite:///tune.db]
    [<any seqnet-train override>]

Hydra's own Optuna sweeper (`hydra-optuna-sweeper` 1.3) pins Optuna below 3.0; this command
drives a current Optuna through its own API instead, reading the same search-space syntax. Each
trial is one `seqnet-train` process with the command's overrides and the trial's choices, in
`<run>/trials/<number>` (a run directory like any other, HPARAMS included), scored by its best
validation value (`hp_metric`: `model.monitor` in `model.monitor_mode`'s direction). The best
trial's value and overrides go to `<run>/optimization_results.yaml`. With a storage URL several
processes (on one machine or many) share the study.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
from omegaconf import DictConfig, OmegaConf

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.cli.launch import launch, reported
from seqnet.cli.overrides import OverrideError
from seqnet.cli.process import apply_process_settings

Sweep = ChoiceSweep | IntervalSweep | RangeSweep


def search_space(params: dict[str, str]) -> dict[str, Sweep]:
    """`hparams_search.params` ({"model.dropout": "interval(0.0, 0.5)", ...}) -> Hydra's parsed
    sweeps; a fixed value is refused (put it on the command line instead)."""
    parser = OverridesParser.create()
    space = {}
    for key, text in params.items():
        (override,) = parser.parse_overrides([f"{key}={text}"])
        if not override.is_sweep_override():
            raise OverrideError(
                f"hparams_search.params.{key}={text} is not a search range; use choice(...), range(a, b) "
                f"or interval(a, b) (tag(log, interval(a, b)) for a log scale), or pass {key}={text} itself"
            )
        space[key] = override.value()
    return space


def suggest(trial: Any, key: str, sweep: Sweep) -> Any:
    """One trial's value for `key`: a category, an int from a range (stop excluded, as Hydra's
    range), or a number from an interval (ints with int(interval(a, b)); log scale if tagged)."""
    if isinstance(sweep, ChoiceSweep):
        return trial.suggest_categorical(key, list(sweep.list))
    if isinstance(sweep, RangeSweep):
        return trial.suggest_int(
            key, int(sweep.start), int(sweep.stop) - int(sweep.step), step=int(sweep.step)
        )
    log = "log" in sweep.tags
    if isinstance(sweep.start, int) and isinstance(sweep.end, int):
        return trial.suggest_int(key, sweep.start, sweep.end, log=log)
    return trial.suggest_float(key, float(sweep.start), float(sweep.end), log=log)


def tune(cfg: DictConfig) -> dict[str, Any]:
    """Run `hparams_search.n_trials` trials; return (and write) the optimization results."""
    apply_process_settings(cfg)
    search = cfg.get("hparams_search")
    if not search:
        raise OverrideError(
            "seqnet-tune needs a search space: add hparams_search=optuna (configs/hparams_search/optuna.yaml)"
        )
    import optuna

    space = search_space(OmegaConf.to_container(search.params))
    given = [o for o in HydraConfig.get().overrides.task if not o.lstrip("+~").startswith("hparams_search")]
    fixed = [o for o in given if o.lstrip("+~").split("=", 1)[0] not in space]
    output = Path(cfg.paths.output_dir)
    monitor, mode = resolved_monitor(cfg)
    direction = "maximize" if mode == "max" else "minimize"
    study = optuna.create_study(
        study_name=str(search.study_name), storage=search.storage, direction=direction,
        sampler=optuna.samplers.TPESampler(seed=search.seed), load_if_exists=True,
    )  # fmt: skip

    def objective(trial: optuna.Trial) -> float:
        chosen = {key: suggest(trial, key, sweep) for key, sweep in space.items()}
        overrides = [*fixed, *(f"{key}={_value(value)}" for key, value in chosen.items())]
        trial.set_user_attr("overrides", overrides)
        value = run_trial(overrides, output / "trials" / str(trial.number))
        print(f"trial {trial.number}: {monitor} {value:.5g}  {' '.join(overrides)}", flush=True)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=int(search.n_trials), catch=(TrialFailed,))
    results = optimization_results(study, monitor)
    (output / "optimization_results.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(results)))
    print(f"best: {monitor} {results['best_value']:.5g} with {' '.join(results['best_overrides'])}")
    print(f"results: {output / 'optimization_results.yaml'}")
    return results


def resolved_monitor(cfg: DictConfig) -> tuple[str, str]:
    """The metric and direction the trials' `hp_metric` follows: `model.monitor` and
    `model.monitor_mode`, resolved by building the task on the data as seqnet-train does where
    either is "auto" (the headline metric depends on the data: entity F1 for BIO tags)."""
    if cfg.model.monitor != "auto" and cfg.model.monitor_mode != "auto":
        return str(cfg.model.monitor), str(cfg.model.monitor_mode)
    from hydra.utils import instantiate

    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    model = instantiate(cfg.model, spec=datamodule.spec.to_dict(), _recursive_=False, _convert_="all")
    return model.monitor, model.monitor_mode


class TrialFailed(RuntimeError):
    """A trial's seqnet-train run ended without a result (its log says why)."""


def run_trial(overrides: list[str], run_dir: Path) -> float:
    """One `seqnet-train` process in `run_dir`; its best validation value (`hp_metric`)."""
    command = [str(Path(sys.executable).parent / "seqnet-train"), *overrides, f"hydra.run.dir={run_dir}"]
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log = run_dir.parent / f"{run_dir.name}.log"
    with log.open("w") as out:
        status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    metrics = run_dir / "metrics.json"
    if status != 0 or not metrics.is_file():
        print(f"trial in {run_dir} failed (exit status {status}); its output is in {log}", file=sys.stderr)
        raise TrialFailed(str(log))
    return float(json.loads(metrics.read_text())["hp_metric"])


def optimization_results(study: Any, monitor: str) -> dict[str, Any]:
    """What Hydra's Optuna sweeper writes (name, best_params, best_value) and the best trial's
    overrides, plus every trial's number, state, value and overrides."""
    best = study.best_trial
    return {
        "name": "optuna",
        "monitor": monitor,
        "direction": study.direction.name.lower(),
        "best_params": dict(best.params),
        "best_value": float(best.value),
        "best_overrides": list(best.user_attrs.get("overrides", [])),
        "best_trial": best.number,
        "trials": [
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "overrides": t.user_attrs.get("overrides"),
            }
            for t in study.trials
        ],
    }


def _value(value: Any) -> str:
    """A value as a Hydra override writes it (booleans lowercase)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
@reported("seqnet-tune")
def _run(cfg: DictConfig) -> None:
    tune(cfg)


def main() -> None:
    """Console script `seqnet-tune`."""
    launch("train", "seqnet-tune", _run)
