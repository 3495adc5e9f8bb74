"""Refuse a mistyped override before anything runs, naming the key and what is allowed there."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.errors import InputError


class OverrideError(InputError):
    """A command-line override that does not fit the configs."""


def check_overrides(config_name: str, args: Sequence[str]) -> DictConfig | None:
    """Compose `config_name` with the overrides in `args` and return it; raise OverrideError with
    the fix.

    Runs with Hydra flags (-m, --cfg, ...) are left to Hydra, which checks each job itself (None).
    """
    if any(arg.startswith("-") for arg in args):
        return None
    overrides = list(args)
    try:
        cfg = _compose(config_name, overrides)
        missing = [key for key in missing_keys(cfg) if not key.startswith("hydra.")]
    except (HydraException, OmegaConfBaseException) as error:
        raise OverrideError(_explain(config_name, overrides, error)) from None
    except ValueError as error:  # Hydra's answer to `group=null`
        nulls = [o.partition("=")[0] for o in overrides if o.endswith("=null")]
        hint = f"; to drop a config group write ~{nulls[0]}" if nulls else ""
        raise OverrideError(f"invalid override: {error}{hint}") from None
    if missing:
        settings = " ".join(f"{key}=..." for key in missing)
        raise OverrideError(
            f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no value and this run needs "
            f"{'it' if len(missing) == 1 else 'them'}: add {settings} to the command line"
        )
    return cfg


def missing_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    """The dotted keys whose value is the mandatory `???`, without resolving interpolations
    (`${hydra:...}` cannot be resolved outside a Hydra job)."""
    found = []
    for key in cfg:
        node = cfg._get_node(key)
        if isinstance(node, DictConfig):
            found += missing_keys(node, f"{prefix}{key}.")
        elif OmegaConf.is_missing(cfg, key):
            found.append(f"{prefix}{key}")
    return found


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name, overrides=overrides)


def _explain(config_name: str, overrides: list[str], error: Exception) -> str:
    cause = error.__cause__ if error.__cause__ is not None else error
    full_key = getattr(cause, "full_key", None)
    if not full_key or "not in struct" not in str(cause):
        return "invalid override: " + str(error).split("Config search path:")[0].strip()
    parent_key, _, name = str(full_key).rpartition(".")
    clean = [o for o in overrides if not o.lstrip("+~").startswith(f"{full_key}=")]
    try:
        parent = OmegaConf.select(_compose(config_name, clean), parent_key) if parent_key else None
    except (HydraException, OmegaConfBaseException):
        parent = None
    keys = sorted(str(k) for k in parent) if isinstance(parent, DictConfig) else []
    lines = [f"unknown config key {full_key!r}"]
    close = difflib.get_close_matches(name, keys, n=1)
    if close:
        lines[0] += f" (did you mean {f'{parent_key}.{close[0]}'!r}?)"
    if keys:
        lines.append(f"keys under {parent_key!r}: {', '.join(keys)}")
    lines.append(f"to add a new key on purpose, write +{full_key}=...")
    return "\n".join(lines)


def check_overrides_or_exit(config_name: str, program: str) -> DictConfig | None:
    """Entry-point helper: the composed config; print the explanation and exit with status 2 on a
    bad override."""
    try:
        return check_overrides(config_name, sys.argv[1:])
    except OverrideError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
