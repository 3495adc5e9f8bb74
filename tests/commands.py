"""Running seqnet's console scripts from tests.

`run_cli` runs a command in this process through its console entry point: the code path of the
installed script without the seconds each new Python process spends importing torch and
Lightning. `process=True` starts the installed script instead, for tests about the process itself
(start-up, signals, what a fresh interpreter can import).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import signal
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from hydra.core.global_hydra import GlobalHydra

from seqnet.cli import evaluate, export, generate, predict, train

PROGRAMS: dict[str, Callable[[], None]] = {
    "seqnet-train": train.main,
    "seqnet-eval": evaluate.main,
    "seqnet-predict": predict.main,
    "seqnet-generate": generate.main,
    "seqnet-export": export.main,
}
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_cli(
    program: str, *args: str, cwd: Path, timeout: int = 600, process: bool = False
) -> subprocess.CompletedProcess:
    """Run `program args` from `cwd` with its run directories under cwd/logs, as a user would;
    its exit status and what it printed. `timeout` applies to a separate process only."""
    if process:
        executable = Path(sys.executable).parent / program
        env = {**os.environ, "SEQNET_LOG_DIR": str(cwd / "logs"), "PYTHONWARNINGS": "ignore"}
        return subprocess.run(
            [str(executable), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
    stdout, stderr = io.StringIO(), io.StringIO()
    with process_state_kept(), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        os.chdir(cwd)
        os.environ["SEQNET_LOG_DIR"] = str(cwd / "logs")
        sys.argv = [program, *args]
        status = entry_point_status(PROGRAMS[program])
    return subprocess.CompletedProcess([program, *args], status, stdout.getvalue(), stderr.getvalue())


def entry_point_status(main: Callable[[], None]) -> int:
    """Call a console entry point; the exit status a process running it would end with."""
    try:
        main()
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)
        return 1
    except Exception:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        return 1
    return 0


@contextlib.contextmanager
def process_state_kept() -> Iterator[None]:
    """Put back what a command changes for its whole process: the working directory, argv,
    environment, import path, logging handlers, warning filters, signal handlers, torch's threads
    and random generators, and Hydra's global state. Warnings are not shown, as for a process."""
    saved_cwd, saved_argv, saved_env, saved_path = os.getcwd(), sys.argv, dict(os.environ), list(sys.path)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_signals = {number: signal.getsignal(number) for number in SIGNALS}
    saved_threads = torch.get_num_threads()
    saved_random = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as PYTHONWARNINGS=ignore does for a separate process
            yield
    finally:
        os.chdir(saved_cwd)
        sys.argv, sys.path[:] = saved_argv, saved_path
        os.environ.clear()
        os.environ.update(saved_env)
        for handler in root.handlers:
            if handler not in saved_handlers:
                handler.close()
        root.handlers[:], root.level = saved_handlers, saved_level
        for number, handler in saved_signals.items():
            signal.signal(number, handler)
        torch.set_num_threads(saved_threads)
        random.setstate(saved_random[0])
        np.random.set_state(saved_random[1])
        torch.set_rng_state(saved_random[2])
        GlobalHydra.instance().clear()
