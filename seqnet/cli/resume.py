"""`seqnet-train resume=<run dir>`: continue a run in place. Each run directory belongs to one run:
`resume=` is the only way to write into a directory that already holds one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

from seqnet.errors import InputError

# Checkpoints a run can continue from (best.ckpt is for evaluation: it may be epochs behind).
# Lightning names a second file of the same name step-v1.ckpt.
RESUMABLE = ("interrupted", "step", "last")
# Keys that `resume=` sets itself.
RUN_KEYS = ("resume", "hydra.run.dir", "ckpt_path", "fit")
# Written into the run directory when `fit` has finished: its metrics and best checkpoint.
FIT_RECORD = "fit.json"


def run_arguments(args: Sequence[str]) -> list[str]:
    """The command-line arguments of `seqnet-train` as Hydra should see them.

    `resume=<run>` is replaced by the run's own overrides (`<run>/.hydra/overrides.yaml`), then the
    arguments given now (they win: `trainer.max_epochs=200` lengthens the run), then
    `hydra.run.dir=<run>`, `ckpt_path=<the run's newest checkpoint>` and `resume=<run>`. A run
    whose fit had finished (it was stopped while testing) is only tested (`fit=false`), unless
    arguments given now change it (`trainer.max_epochs=200` trains on).
    Without `resume=`, a `hydra.run.dir` that already holds a run is refused.
    """
    given = {key(arg): arg.partition("=")[2] for arg in args if "=" in arg and not arg.startswith("-")}
    resume = given.get("resume")
    if resume in (None, "", "null"):
        run_dir = given.get("hydra.run.dir")
        if run_dir and holds_run(Path(run_dir)):
            raise InputError(
                f"hydra.run.dir={run_dir} already holds a run; continue it with `seqnet-train "
                f"resume={run_dir}`, or give a new directory (each run writes to its own)"
            )
        return list(args)
    run_dir = Path(resume)
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        raise InputError(
            f"resume={resume}: {run_dir} is not a seqnet-train run directory (it has no "
            ".hydra/overrides.yaml); pass the directory the run printed as 'run directory:'"
        )
    checkpoint = newest_checkpoint(run_dir)
    original = [str(o) for o in OmegaConf.load(saved) if key(str(o)) not in {*given, *RUN_KEYS}]
    now = [arg for arg in args if key(arg) not in RUN_KEYS]
    test_only = ["fit=false"] if (run_dir / FIT_RECORD).is_file() and not now else []
    place = [f"hydra.run.dir={run_dir}", f"ckpt_path={checkpoint}", f"resume={run_dir}"]
    return [*original, *now, *place, *test_only]


def key(argument: str) -> str:
    """The config key an override sets: `+a.b=1` -> `a.b`."""
    return argument.partition("=")[0].lstrip("+~")


def holds_run(directory: Path) -> bool:
    """Whether a run has written results into `directory` (a checkpoint or its metrics); a run
    that failed before its first checkpoint holds none, and its directory may be used again."""
    return (directory / "metrics.json").is_file() or any((directory / "checkpoints").glob("*.ckpt"))


def newest_checkpoint(run_dir: Path) -> Path:
    """The checkpoint of `run_dir` with the most optimizer steps (ties: the newest file)."""
    import torch

    candidates = [
        path for path in (run_dir / "checkpoints").glob("*.ckpt") if path.stem.split("-v")[0] in RESUMABLE
    ]
    steps = {}
    for path in candidates:
        try:
            steps[path] = torch.load(path, map_location="cpu", weights_only=True, mmap=True)["global_step"]
        except Exception:
            continue
    if not steps:
        raise InputError(
            f"resume={run_dir}: {run_dir / 'checkpoints'} holds no readable checkpoint to continue "
            "from (the run stopped before its first one); start the run again"
        )
    return max(steps, key=lambda path: (steps[path], path.stat().st_mtime))
