"""Every data config composes, loads its real data and yields a batch of the right shape."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from seqnet.cli.config_dir import CONFIG_DIR

DATA_CONFIGS = sorted(p.stem for p in (CONFIG_DIR / "data").glob("*.yaml"))

# Configs of your own files, pointed at small files written by `user_files`.
USER_FILES = {
    "text_tsv": ["data.source.train_path={tsv}", "data.source.test_path={tsv}"],
    "conll": ["data.source.train_path={conll}", "data.source.test_path={conll}"],
    "parallel_tsv": ["data.source.train_path={pairs}", "data.source.test_path={pairs}"],
    "text_corpus": [
        "data.source.train_paths=[{corpus}]",
        "data.source.test_paths=[{corpus}]",
        "data.source.seq_len=8",
    ],
    "csv_series": ["data.source.path={series}", "data.source.target=load", "data.source.covariates=[temp]"],
    "csv_anomaly": [
        "data.source.path={series}",
        "data.source.columns=[load]",
        "data.source.train_end=150",
        "data.source.window=32",
    ],
}
# Music configs read a few files only: parsing a whole collection takes minutes (it is cached).
CHORALES = [
    "bwv1.6",
    "bwv10.7",
    "bwv101.7",
    "bwv102.7",
    "bwv103.6",
    "bwv104.6",
    "bwv108.6",
    "bwv11.6",
    "bwv110.7",
]
USER_FILES["bach_chorales"] = [f"data.source.files=[{','.join(f'{c}.mxl' for c in CHORALES)}]"]
USER_FILES["essen"] = ["data.source.files=[erk5.abc]"]
# Per-step targets and what they are per data config (the rest have one class or value per sequence).
TARGET_KINDS = {
    "conll": "tags",
    "sblgnt_pos": "tags",
    "copy_memory": "tags",
    "cmudict": "tokens",
    "parallel_tsv": "tokens",
    "shakespeare": "tokens",
    "text_corpus": "tokens",
    "bach_chorales": "tokens",
    "essen": "tokens",
    "kdd_tsad": "anomaly",
    "mitdb": "anomaly",
    "csv_anomaly": "anomaly",
    **dict.fromkeys(
        ["forecast", "co2", "sunspots", "nile", "airline", "elecdemand", "csv_series", "noisy_sine"], "series"
    ),
    "adding": "values",
}


@pytest.mark.parametrize("name", DATA_CONFIGS)
def test_every_data_config_loads_its_data_and_batches_it(name, user_files):
    overrides = [o.format(**user_files) for o in USER_FILES.get(name, [])]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose("train", overrides=[f"data={name}", "data.batch_size=4", *overrides])
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    spec = datamodule.spec
    assert spec.target_kind == TARGET_KINDS.get(name, "classes")
    batch = next(iter(datamodule.train_dataloader()))
    assert batch.inputs.shape[0] == batch.targets.shape[0] == 4
    assert (batch.target_lengths is not None) == spec.sequence_targets
    for split in ("train", "val", "test"):
        assert datamodule.datasets[split], f"{name}: empty {split} split"
