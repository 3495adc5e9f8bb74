"""UCR/UEA time-series classification archive (`.ts` files), read offline.

Files are looked up in `data_dir` when given, else in the sktime wheel, which ships GunPoint,
ItalyPowerDemand, ArrowHead, BasicMotions, JapaneseVowels, OSULeaf, PLAID and others. sktime is only
located, never imported, so `pip install --no-deps sktime==1.2.0` is all it takes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from seqnet.data.download import cache_root, download_and_extract
from seqnet.data.series import (
    NORMALIZATIONS,
    check_missing_policy,
    check_normalization,
    fill_missing,
    zscore_series,
)
from seqnet.data.sources.base import SequenceExample, SequenceSplits
from seqnet.data.sources.packaged import INSTALL, package_dir
from seqnet.data.ts_format import TsData, read_ts

log = logging.getLogger(__name__)

ARCHIVE_URL = "https://timeseriesclassification.com/aeon-toolkit/{name}.zip"


class UCRSource:
    """One UCR/UEA data set with its official train/test split.

    Args:
        name: the archive's name, e.g. "JapaneseVowels" or "ItalyPowerDemand".
        data_dir: folder holding `<name>_TRAIN.ts` and `<name>_TEST.ts` (directly or in `<name>/`);
            None looks inside the installed sktime package.
        missing: what to do with missing values ('?' in the file): error, interpolate (linear,
            per channel), ffill (forward fill, then back fill at the start) or drop (the case).
        download: when the files are nowhere local, fetch `url` (the archive's zip of the data
            set) once into `$SEQNET_CACHE_DIR/ucr/<name>` (default `~/.cache/seqnet`).
        url: where to download from; `{name}` is filled in.
        normalize: series (z-normalise each case per channel, the archive's own convention, also at
            prediction), dataset (the task standardises with the training split's statistics; the
            default), none, or auto: series for univariate sets, dataset for multivariate ones,
            whose channels' levels often carry the class (JapaneseVowels' cepstra, a sensor's
            resting value).
    """

    def __init__(
        self,
        name: str,
        data_dir: str | Path | None = None,
        missing: str = "error",
        download: bool = False,
        url: str = ARCHIVE_URL,
        normalize: str = "dataset",
    ) -> None:
        self.name = name
        self.normalize = check_normalization(normalize, ("auto", *NORMALIZATIONS))
        self.data_dir = Path(data_dir).expanduser() if data_dir else None
        self.missing = check_missing_policy(missing)
        self.download = download
        self.url = url

    def load(self) -> SequenceSplits:
        train = self._read("TRAIN")
        test = self._read("TEST")
        normalize = self.normalize
        if normalize == "auto":
            channels = train.series[0].shape[1]
            normalize = "series" if channels == 1 else "dataset"
            log.info("%s: normalize=auto is %s (%d channel(s))", self.name, normalize, channels)
        if normalize == "series":
            for data in (train, test):
                data.series = [zscore_series(s) for s in data.series]
        is_regression = train.class_labels is None
        return SequenceSplits(
            name=self.name,
            train=self._examples(train, is_regression),
            test=self._examples(test, is_regression),
            target_kind="values" if is_regression else "classes",
            class_names=train.class_labels,
            normalize=normalize,
        )

    def files(self) -> dict[str, Path]:
        """Paths of the TRAIN and TEST files; FileNotFoundError says how to get them."""
        folder = self._folder()
        return {split: folder / f"{self.name}_{split}.ts" for split in ("TRAIN", "TEST")}

    def _folder(self) -> Path:
        cache = cache_root() / "ucr"
        roots = [self.data_dir] if self.data_dir else [*_sktime_data_roots(), cache]
        for root in roots:
            for folder in (root / self.name, root):
                if (folder / f"{self.name}_TRAIN.ts").is_file():
                    return folder
        if self.download and not self.data_dir:
            folder = download_and_extract(self.url.format(name=self.name), cache / self.name)
            found = sorted(folder.rglob(f"{self.name}_TRAIN.ts"))
            if not found:
                raise FileNotFoundError(f"{self.url.format(name=self.name)} holds no {self.name}_TRAIN.ts")
            return found[0].parent
        if self.data_dir:
            raise FileNotFoundError(
                f"no {self.name}_TRAIN.ts under {self.data_dir} (looked in {self.data_dir} and "
                f"{self.data_dir / self.name}); download the archive from "
                "https://timeseriesclassification.com or fix data_dir"
            )
        if len(roots) == 1:  # only the cache: sktime is not installed
            raise FileNotFoundError(
                f"UCR data set {self.name!r} is read from the sktime wheel, which is not installed; "
                f"run `{INSTALL['sktime']}` (or `make install`), set data_dir to a folder of .ts files, "
                "or set download=true"
            )
        available = sorted(p.parent.name for p in roots[0].glob("*/*_TRAIN.ts"))
        raise FileNotFoundError(
            f"UCR data set {self.name!r} is not in the sktime wheel; available there: {available}; "
            "set data_dir to a folder holding other archive files, or download=true to fetch it"
        )

    def _read(self, split: str) -> TsData:
        path = self.files()[split]
        data = read_ts(path)
        data.series = [
            fill_missing(s, self.missing, f"{path}:{line}: the case")
            for s, line in zip(data.series, data.lines, strict=True)
        ]
        keep = [i for i, s in enumerate(data.series) if s is not None]
        data.series = [data.series[i] for i in keep]
        data.labels = [data.labels[i] for i in keep]
        data.lines = [data.lines[i] for i in keep]
        return data

    def _examples(self, data: TsData, is_regression: bool) -> list[SequenceExample]:
        return [
            SequenceExample(s, float(label) if is_regression else label, origin=f"{data.path}:{line}")
            for s, label, line in zip(data.series, data.labels, data.lines, strict=True)
        ]


def _sktime_data_roots() -> list[Path]:
    try:
        return [package_dir("sktime", what="UCR data") / "datasets" / "data"]
    except FileNotFoundError:
        return []
