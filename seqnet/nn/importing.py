"""Naming a class by its import path in a config (`my_module.MyCell`)."""

from __future__ import annotations

import importlib
from typing import Any


def import_object(path: str) -> Any:
    """The object that `package.module.Name` names.

    Raises:
        ImportError: the path has no module part, or the module or the name cannot be found.
    """
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise ImportError(f"{path!r} is not an import path (package.module.Name)")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except AttributeError as error:
        raise ImportError(str(error)) from None
