"""What every console script does before Hydra takes over."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from seqnet.cli.overrides import check_overrides_or_exit


def launch(config_name: str, program: str, hydra_main: Callable[[], object]) -> None:
    """Check the overrides (exit 2 with the fix on a bad one), then run the Hydra entry point.

    The working directory goes on `sys.path`, as with `python -m`, so your own modules named in a
    config (a cell `model.encoder.cell=my_cells.PeepholeLSTM`, a `_target_`) import from where you
    launch.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    check_overrides_or_exit(config_name, program)
    hydra_main()
