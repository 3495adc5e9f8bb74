"""Config composition: no experiment overlay by default, and every model config builds its task."""

import inspect

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from seqnet.cli.config_dir import CONFIG_DIR, run_name
from seqnet.data import DataSpec
from seqnet.nn import RecurrentEncoder

VOCAB = ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b"]
MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))


def composed(*overrides: str):
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def test_plain_train_composes_no_experiment_yet_equals_the_default_experiment():
    plain, explicit = composed(), composed("experiment=japanese_vowels")
    for group in ("data", "model", "trainer", "callbacks"):
        assert OmegaConf.to_container(plain[group]) == OmegaConf.to_container(explicit[group]), group


def test_choosing_only_a_data_set_is_not_overlaid_by_the_default_experiment():
    cfg = composed("data=names")
    assert cfg.data.source._target_.endswith("NamesSource")
    assert run_name("names", cfg.data.source) == "names" and cfg.trainer.max_epochs == 60


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ((), "japanese_vowels"),
        (("data=ucr",), "ucr_ItalyPowerDemand"),
        (
            ("data=ucr", "data.source.name=GunPoint", "data.source.data_dir=/archive/Univariate_ts/"),
            "ucr_GunPoint",
        ),
        (("data=conll", "data.source.train_path=data/tweets.conll"), "conll_tweets"),
        (("data=csv_series", "data.source.path=load.csv"), "csv_series_load"),
        (("data=text_corpus", "data.source.train_paths=[books/]"), "text_corpus_books"),
        (("data=csv_series",), "csv_series"),
    ],
)
def test_runs_without_an_experiment_are_named_after_their_data_and_file(overrides, name):
    data = next((o.partition("=")[2] for o in overrides if o.startswith("data=")), "japanese_vowels")
    assert run_name(data, composed(*overrides).data.source) == name


SPECS = {  # a spec each task config builds from
    "many_to_one": DataSpec("features", 3, "classes", num_classes=2, class_names=["a", "b"]),
    "many_to_many": DataSpec("tokens", 9, "tags", num_classes=2, class_names=["O", "B-X"], aligned=True),
    "language_model": DataSpec("tokens", 6, "tokens", vocab=VOCAB, target_vocab=VOCAB, aligned=True),
    "seq2seq": DataSpec("tokens", 6, "tokens", vocab=VOCAB, target_vocab=VOCAB),
    "one_to_many": DataSpec(
        "tokens",
        6,
        "tokens",
        vocab=VOCAB,
        target_vocab=VOCAB,
        aligned=True,
        condition_kind="classes",
        condition_names=["f", "m"],
    ),
    "autoencoder": DataSpec(
        "features", 2, "anomaly", num_classes=2, class_names=["normal", "anomaly"], aligned=True
    ),
    "forecaster": DataSpec(
        "features", 2, "series", target_mean=[1.0], target_std=[2.0], horizon=3, target_features=[0]
    ),
}


@pytest.mark.parametrize("model", MODELS)
def test_every_model_config_builds_its_task_from_a_matching_spec(model):
    cfg = composed(f"model={model}")
    task = instantiate(cfg.model, spec=SPECS[model].to_dict(), _recursive_=False, _convert_="all")
    assert type(task).__name__ == cfg.model._target_.rpartition(".")[2]


@pytest.mark.parametrize("model", MODELS)
def test_a_task_built_from_python_with_its_defaults_is_the_one_its_config_builds(model):
    """One source of defaults: the task signatures, `DEFAULT_ENCODER` and `DEFAULT_OPTIMIZER`. The
    configs repeat them (so the command line can set each key) and must agree with them."""
    cfg = composed(f"model={model}")
    from_config = instantiate(cfg.model, spec=SPECS[model].to_dict(), _recursive_=False, _convert_="all")
    from_python = type(from_config)(SPECS[model])
    assert repr(from_python) == repr(from_config)  # layers, sizes, directions, dropout
    for setting in ("optimizer_config", "scheduler_config", "gradient_clip_val", "gradient_clip_algorithm",
                    "monitor", "monitor_mode"):  # fmt: skip
        assert getattr(from_python, setting) == getattr(from_config, setting), setting
    settings = inspect.signature(RecurrentEncoder).parameters
    encoder = {k: p.default for k, p in settings.items() if k not in ("input_size", "num_layers")}

    def effective(config: dict) -> dict:  # num_layers None means one per cell: the repr compares it
        return {k: v for k, v in {**encoder, **config}.items() if k != "num_layers"}

    assert effective(from_python.encoder_config) == effective(from_config.encoder_config)
    for key, value in from_config.hparams.items():
        if key not in ("spec", "encoder", "decoder", "optimizer"):  # the repr holds the decoder
            assert from_python.hparams[key] == value, key


def test_data_ucr_brings_its_recipe_with_the_default_task_and_tilde_recipe_drops_it():
    """Decided on the sets defaults are chosen on (benchmarks/zero_config/choose/ucr.json): the
    recipe beat the plain defaults on 6 of 7 (ArrowHead 0.80 against 0.39)."""
    recipe = composed("data=ucr")
    assert (recipe.model.pooling, recipe.trainer.max_steps, recipe.data.val_fraction) == ("mean", 1500, 0)
    assert composed("data=ucr", "~recipe").model.pooling == "last"
    assert composed("data=ucr", "model=forecaster").model.get("pooling") is None  # another task: none
    assert composed().model.pooling == "last"  # the default experiment keeps its own settings
    experiment = composed("experiment=ucr")
    assert OmegaConf.to_container(experiment.model) == OmegaConf.to_container(recipe.model)


@pytest.mark.parametrize(
    ("data", "task"),
    [
        ("conll", "ManyToMany"),
        ("parallel_tsv", "Seq2Seq"),
        ("text_corpus", "LanguageModel"),
        ("csv_series", "Forecaster"),
        ("csv_anomaly", "SequenceAutoencoder"),
        ("sblgnt_pos", "ManyToMany"),
        ("airline", "Forecaster"),
        ("essen", "OneToMany"),
        ("ucr", "ManyToOne"),
    ],
)
def test_a_data_set_brings_the_task_shape_its_targets_need_unless_one_is_picked(data, task):
    """`seqnet-train data=conll data.source.train_path=...` trains a tagger with nothing else said."""
    assert composed(f"data={data}").model._target_ == f"seqnet.tasks.{task}"
    assert composed(f"data={data}", "model=many_to_one").model._target_ == "seqnet.tasks.ManyToOne"
    assert composed(f"data={data}", "model/encoder=gru").model.encoder.cell == "gru"


def test_text_and_tagging_files_bring_the_recipes_chosen_for_them():
    """Chosen on data the zero-config report never shows (benchmarks/zero_config/choose/)."""
    text = composed("data=text_tsv", "data.source.train_path=x")
    assert (text.model.pooling, text.model.word_dropout, text.callbacks.early_stopping.patience) == (
        "max", 0.1, 5,
    )  # fmt: skip
    assert composed("data=text_tsv", "data.source.train_path=x", "~recipe").model.pooling == "last"
    tagger = composed("data=conll", "data.source.train_path=x")
    assert (tagger.model.char_features, tagger.model.word_dropout) == (True, 0.1)
    assert composed().model.word_dropout == 0.0  # the default experiment keeps its own settings


def test_the_slurm_launcher_and_multi_node_ddp_compose():
    """docs/scale_out.md's SLURM recipe: one srun task per GPU, the nodes Lightning is told."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    overrides = ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"]
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)
    assert (cfg.trainer.strategy, cfg.trainer.num_nodes) == ("ddp", 2)
