"""Where the Hydra configs are: inside the wheel (`seqnet/configs`) or, in a source checkout with an
editable install, the repository's top-level `configs/`."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
_PACKAGED = _PACKAGE / "configs"
_CHECKOUT = _PACKAGE.parent / "configs"

CONFIG_DIR = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT
