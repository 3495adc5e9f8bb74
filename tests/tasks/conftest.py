import lightning as L
import pytest

from seqnet.data import SequenceDataModule
from seqnet.data.sources import AddingProblemSource, UCRSource


def quiet_trainer(tmp_path, **kwargs) -> L.Trainer:
    defaults = dict(
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    return L.Trainer(**{**defaults, **kwargs})


@pytest.fixture(scope="session")
def vowels() -> SequenceDataModule:
    dm = SequenceDataModule(UCRSource("JapaneseVowels"), batch_size=32, eval_batch_size=64)
    dm.setup()
    return dm


@pytest.fixture(scope="session")
def adding() -> SequenceDataModule:
    dm = SequenceDataModule(
        AddingProblemSource(length=10, num_train=256, num_val=64, num_test=64), batch_size=32
    )
    dm.setup()
    return dm
