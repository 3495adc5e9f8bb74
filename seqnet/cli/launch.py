"""What every console script does before Hydra takes over."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from omegaconf import DictConfig

from seqnet.cli.overrides import check_overrides_or_exit
from seqnet.errors import InputError, cause_of

T = TypeVar("T")
# Bad input besides InputError: a path that is missing, the wrong kind, or not readable.
PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def launch(
    config_name: str,
    program: str,
    hydra_main: Callable[[], object],
    arguments: Callable[[list[str]], list[str]] | None = None,
) -> None:
    """Check the overrides (exit 2 with the fix on a bad one), then run the Hydra entry point.

    `arguments`, if given, first rewrites the command line (`seqnet-train resume=<run>`). The
    working directory goes on `sys.path`, as with `python -m`, so your own modules named in a
    config (a cell `model.encoder.cell=my_cells.PeepholeLSTM`, a `_target_`) import from where you
    launch.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if arguments is not None:
            sys.argv[1:] = arguments(sys.argv[1:])
        cfg = check_overrides_or_exit(config_name, program)
        if cfg is not None:
            check_output_place(cfg, sys.argv[1:])
    except InputError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    hydra_main()


def check_output_place(cfg: DictConfig, args: list[str]) -> None:
    """Refuse a log directory (or an explicit `hydra.run.dir`) that cannot be created or written,
    before Hydra tries to create the run directory there (it would fail with a traceback)."""
    places = [("paths.log_dir", cfg.paths.log_dir)] if "paths" in cfg else []
    places += [("hydra.run.dir", arg.partition("=")[2]) for arg in args if arg.startswith("hydra.run.dir=")]
    for key, place in places:
        existing = Path(place).absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            problem = f"{existing} is a file, not a directory"
        elif not os.access(existing, os.W_OK | os.X_OK):
            problem = f"{existing} is not writable"
        else:
            continue
        raise InputError(
            f"{key}={place} cannot hold run directories: {problem}; set {key}=<a writable directory>"
            + (" (or the SEQNET_LOG_DIR environment variable)" if key == "paths.log_dir" else "")
        )


def reported(program: str) -> Callable[[Callable[[DictConfig], T]], Callable[[DictConfig], T]]:
    """Decorate a Hydra task function: bad input (an `InputError` or a path error, also when Hydra
    wraps what a `_target_` raised) is printed as one `program: error: ...` message, recorded in
    `<run dir>/error.txt` so the directory reads as a failed run, and ends the process with exit
    status 2. Anything else is a bug and keeps its traceback; so does bad input under
    `SEQNET_DEBUG=1` or `hydra.verbose=true`."""

    def decorate(job: Callable[[DictConfig], T]) -> Callable[[DictConfig], T]:
        @functools.wraps(job)
        def run(cfg: DictConfig) -> T:
            try:
                return job(cfg)
            except Exception as error:
                cause = input_cause(error)
                if cause is None or os.environ.get("SEQNET_DEBUG") or hydra_verbose():
                    raise
                message = f"{program}: error: {cause}"
                run_dir = Path(cfg.paths.output_dir) if cfg.get("paths") else None
                if run_dir is not None and run_dir.is_dir():
                    details = "".join(traceback.format_exception(error))
                    (run_dir / "error.txt").write_text(f"{message}\n\n{details}", encoding="utf-8")
                    run_dir = set_aside(run_dir)
                    message += f"\n(the traceback is in {run_dir / 'error.txt'})"
                print(message, file=sys.stderr)
                raise SystemExit(2) from None

        return run

    return decorate


def set_aside(run_dir: Path) -> Path:
    """Move a run directory that failed before its first checkpoint from `<name>/runs/` to
    `<name>/failed/`, so the run list (and TensorBoard's) shows runs that hold results; a directory
    given with `hydra.run.dir` stays where it was asked to be. Returns where it is now."""
    from seqnet.cli.resume import holds_run

    if run_dir.parent.name != "runs" or holds_run(run_dir):
        return run_dir
    failed = run_dir.parent.parent / "failed" / run_dir.name
    failed.parent.mkdir(exist_ok=True)
    return run_dir.rename(failed)


@contextlib.contextmanager
def configured(key: str) -> Iterator[None]:
    """Report what goes wrong while building `key` from the config (`data`, `model`, `trainer`, ...)
    as bad input naming that key: a value the class refuses (`ValueError`, `TypeError`, also inside
    Hydra's instantiation error) is the user's setting, not a bug in seqnet. The traceback stays in
    the run's error.txt."""
    from hydra.errors import InstantiationException

    try:
        yield
    except (ValueError, TypeError, InstantiationException) as error:
        if input_cause(error) is not None:
            raise
        cause = error
        while cause.__cause__ is not None:
            cause = cause.__cause__
        what = f"{type(cause).__name__}: {cause}".strip().splitlines()[0]
        raise InputError(
            f"the {key} config could not be built ({what}); check the {key}.* settings"
        ) from error


def hydra_verbose() -> bool:
    """Whether the job runs with `hydra.verbose` set (debug logging), which shows tracebacks too."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.initialized() and bool(HydraConfig.get().verbose)


def input_cause(error: BaseException) -> BaseException | None:
    """The bad-input error in `error`'s chain of causes, or None when it is a bug."""
    return cause_of(error, (InputError, *PATH_ERRORS))
