import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqnet.cli.config_dir import CONFIG_DIR
from tests.cli.test_data_configs import USER_FILES
from tests.commands import run_cli

ENCODERS = sorted(p.stem for p in (CONFIG_DIR / "model" / "encoder").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
# Music experiments read a few files in a debug run, not the whole corpus (minutes to parse cold).
SUBSETS = {name: USER_FILES[name] for name in ("bach_chorales", "essen")}


def metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def assert_ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_every_encoder_config_trains_through_the_cli(cli, tmp_path, encoder):
    run_dir = tmp_path / "run"
    result = cli("seqnet-train", "debug=fast", f"model/encoder={encoder}", f"hydra.run.dir={run_dir}")
    assert_ok(result)
    assert "test/acc" in metrics(run_dir)


def test_a_one_batch_scan_cell_run_shows_the_gradient_flow_in_tensorboard(cli, tmp_path):
    """The command issue 36 names: the input-gradient image and the memory horizon, even in a
    one-batch run, and the scan cell's gate blocks among the per-parameter norms."""
    run_dir = tmp_path / "run"
    overrides = ("experiment=adding", "model.encoder.cell=mingru", "debug=fast", f"hydra.run.dir={run_dir}")
    assert_ok(cli("seqnet-train", *overrides))
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    assert "gradient_flow/input_gradient" in events.Tags()["images"]
    scalars = set(events.Tags()["scalars"])
    assert {
        "gradient_flow/memory_horizon",
        "gradient_flow/clipped_fraction",
        "grad_2.0_norm_total",
    } <= scalars
    assert any(tag.endswith("linear.weight/candidate") for tag in scalars)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_runs_with_debug_fast(cli, tmp_path, experiment):
    run_dir = tmp_path / "run"
    overrides = ("debug=fast", f"experiment={experiment}", *SUBSETS.get(experiment, ()))
    assert_ok(cli("seqnet-train", *overrides, f"hydra.run.dir={run_dir}"))
    assert any(key.startswith("test/") for key in metrics(run_dir))


def test_truncated_bptt_and_stateful_streams_train_from_the_cli_and_whole_sequence_tasks_refuse(
    cli, tmp_path
):
    for stateful in ("false", "true"):
        run_dir = tmp_path / f"run_{stateful}"
        overrides = (
            "debug=fast",
            "experiment=shakespeare_char",
            "model.tbptt_steps=32",
            f"data.stateful={stateful}",
        )
        assert_ok(cli("seqnet-train", *overrides, f"hydra.run.dir={run_dir}"))
        assert "test/nll" in metrics(run_dir)
    refused = cli("seqnet-train", "debug=fast", "+model.tbptt_steps=32", f"hydra.run.dir={tmp_path / 'no'}")
    assert refused.returncode != 0 and "ManyToOne reads each sequence whole" in refused.stderr


def test_default_run_records_config_metrics_environment_checkpoints_and_tensorboard(tmp_path, monkeypatch):
    """In a process of its own, as a user runs it: what it prints and records about its process."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    result = run_cli(
        "seqnet-train", "debug=fast", "trainer.max_epochs=2", "trainer.limit_train_batches=2",
        "trainer.log_every_n_steps=1", "callbacks.step_checkpoint.every_n_train_steps=3",
        cwd=tmp_path, process=True,
    )  # fmt: skip
    assert_ok(result)
    (run_dir,) = (tmp_path / "logs" / "debug" / "runs").iterdir()
    assert f"run directory:   {run_dir}" in result.stdout
    assert "tensorboard --logdir" in result.stdout
    assert "JapaneseVowels" in (run_dir / "config_resolved.yaml").read_text()
    environment = json.loads((run_dir / "environment.json").read_text())
    assert environment["packages"]["torch"] and "git_commit" in environment
    assert environment["omp_wait_policy"] in (None, "PASSIVE") and environment["torch_threads"] >= 1
    assert environment["omp_wait_policy_reason"].startswith("auto: ")  # the default decides per run
    assert {"test/acc", "test/f1_macro", "test/loss", "val/loss"} <= set(metrics(run_dir))
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    log = (run_dir / "train.log").read_text()  # the run's log, as printed: once, and no advertising
    assert "JapaneseVowels: random batches would be" in log and "`Trainer.fit` stopped" in log
    printed = result.stdout + result.stderr
    assert printed.count("GPU available: False") == 1 and "litlogger" not in printed.lower()
    assert "RecurrentEncoder" in log and "MetricCollection" not in log  # one short model table
    step = torch.load(run_dir / "checkpoints" / "step.ckpt", weights_only=True, map_location="cpu")
    assert step["global_step"] == 3 and step["seqnet"]["task"].endswith("ManyToOne")  # of 4 steps

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {
        "train/loss",
        "val/loss",
        "val/acc",
        "val/f1_macro",
        "test/acc",
        "hp_metric",
        "lr-AdamW",
    } <= scalars
    assert "config/text_summary" in events.Tags()["tensors"]
    hparams = events.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams
    settings = hparams["_hparams_/session_start_info"]
    for compared in (
        b"encoder/cell",
        b"encoder/hidden_size",
        b"encoder/num_layers",
        b"encoder/bidirectional",
    ):
        assert compared in settings
    assert b"optimizer/lr" in settings and b"batch_size" in settings and b"JapaneseVowels" in settings
    assert b"class_names" not in settings and b"feature_mean" not in settings, "no spec in HPARAMS"
    hp_metric = [e.value for e in events.Scalars("hp_metric")]
    best_val_loss = min(e.value for e in events.Scalars("val/loss"))
    assert hp_metric[-1] == pytest.approx(best_val_loss)
    assert metrics(run_dir)["hp_metric"] == pytest.approx(
        best_val_loss
    )  # what seqnet-train returns to sweepers
    assert "val/confusion_matrix" in events.Tags()["images"]


def test_eval_reproduces_the_runs_test_metrics_from_the_checkpoint_alone(cli, tmp_path):
    run_dir = tmp_path / "run"
    assert_ok(
        cli(
            "seqnet-train",
            "trainer.max_epochs=3",
            "model.encoder.hidden_size=16",
            f"hydra.run.dir={run_dir}",
            "callbacks.progress_bar.refresh_rate=0",
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checkpoint = run_dir / "checkpoints" / "best.ckpt"
    result = cli("seqnet-eval", f"ckpt_path={checkpoint}", cwd=elsewhere)
    assert_ok(result)
    (eval_dir,) = (run_dir / "evaluations").iterdir()  # beside the run, not where it was launched
    assert not any(elsewhere.iterdir())
    trained, evaluated = metrics(run_dir), metrics(eval_dir)
    test_keys = {k for k in trained if k.startswith("test/")}
    assert test_keys and test_keys == set(evaluated)
    for key in test_keys:
        assert evaluated[key] == pytest.approx(trained[key], abs=1e-6), key
    stored = torch.load(checkpoint, weights_only=True)["seqnet"]
    assert stored["task"] == "seqnet.tasks.many_to_one.ManyToOne"
    assert stored["config"]["data"]["source"]["name"] == "JapaneseVowels"


def test_an_unknown_group_option_lists_the_options(cli):
    result = cli("seqnet-train", "model/encoder=grux")
    assert result.returncode == 2
    assert "Could not find 'model/encoder/grux'" in result.stderr
    assert "bilstm" in result.stderr and "mixed" in result.stderr


def test_an_invalid_encoder_combination_is_refused_before_training(cli, tmp_path):
    result = cli("seqnet-train", "model/encoder=gru", "model.encoder.proj_size=8")
    assert result.returncode != 0
    assert "proj_size works only with cell='lstm', got cell='gru'" in result.stderr
    assert not list((tmp_path / "logs").rglob("*.ckpt"))


def test_trainer_clipping_points_to_the_task_setting(cli):
    result = cli("seqnet-train", "trainer.gradient_clip_val=1.0")
    assert result.returncode != 0
    assert "set model.gradient_clip_val instead" in result.stderr


def test_your_own_labelled_text_trains_through_the_cli(cli, tmp_path):
    lines = [
        f"{'great' if i % 2 else 'other'}\t{'tasty soup' if i % 2 else 'cold fries'} {i}" for i in range(40)
    ]
    (tmp_path / "train.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "test.tsv").write_text("great\ttasty dumplings\nother\tcold soup\n")
    run_dir = tmp_path / "run"
    result = cli(
        "seqnet-train",
        "debug=fast",
        "data=text_tsv",
        "data.source.train_path=train.tsv",
        "data.source.test_path=test.tsv",
        f"hydra.run.dir={run_dir}",
    )
    assert_ok(result)
    assert "test/acc" in metrics(run_dir)
    stored = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    assert stored["hyper_parameters"]["spec"]["vocab"][:2] == ["<pad>", "<unk>"]


@pytest.mark.parametrize("argument", ["--help", "--cfg=job", "model.encoder.bidirectonal=true"])
def test_help_config_printing_and_config_errors_never_import_torch_or_lightning(argument):
    """They answer in about a second: the heavy imports happen only when a job runs."""
    code = (
        "import sys\n"
        f"sys.argv = ['seqnet-train', {argument!r}]\n"
        "from seqnet.cli.train import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('heavy:', sorted(m for m in ('torch', 'lightning') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip().splitlines()[-1] == "heavy: []", (
        result.stdout[-2000:] + result.stderr[-2000:]
    )


def test_process_settings_are_applied_before_torch_is_imported(tmp_path):
    """The OpenMP wait policy only takes effect if it is in the environment when torch loads."""
    code = (
        "import os, sys\n"
        "os.environ.pop('OMP_WAIT_POLICY', None)\n"
        "import seqnet.cli.train as train\n"
        "def spy(cfg):\n"
        "    print('torch imported first:', 'torch' in sys.modules)\n"
        "    original(cfg)\n"
        "    import torch\n"
        "    print('settings:', os.environ['OMP_WAIT_POLICY'], torch.get_num_threads())\n"
        "    raise SystemExit(0)\n"
        "original, train.apply_process_settings = train.apply_process_settings, spy\n"
        "sys.argv = ['seqnet-train', 'debug=fast', 'process.num_threads=1',\n"
        "            'process.omp_wait_policy=PASSIVE']\n"
        "train.main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )  # Hydra makes its run folder there, not in the checkout
    assert "torch imported first: False" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert "settings: PASSIVE 1" in result.stdout


def test_an_omp_wait_policy_in_the_environment_wins_and_a_bad_one_is_refused():
    from hydra import compose, initialize_config_dir

    from seqnet.cli.overrides import OverrideError
    from seqnet.cli.process import apply_process_settings

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("OMP_WAIT_POLICY", "ACTIVE")
            assert compose("train").process.omp_wait_policy == "ACTIVE"
        bad = compose("train", overrides=["process.omp_wait_policy=sleepy"])
    with pytest.raises(OverrideError, match=r"auto .* PASSIVE .* ACTIVE .* or null"):
        apply_process_settings(bad)


@pytest.mark.parametrize(
    ("busy", "policy", "threads"),
    [(0.0, None, None), (0.3, None, None), (0.5, "PASSIVE", None), (1.0, "PASSIVE", 1), (1.9, "PASSIVE", 1)],
)
def test_auto_lets_idle_threads_sleep_and_leaves_busy_cores_alone_only_when_other_work_holds_them(
    monkeypatch, busy, policy, threads
):
    from seqnet.cli import process

    monkeypatch.setattr(process, "busy_cores", lambda: (busy, 2))
    chosen, free, reason = process.thread_settings_for_this_run()
    assert chosen == policy and free == threads
    assert reason.startswith(f"auto: {busy:.2f} of 2 cores busy with other work")


def test_auto_sets_torch_threads_to_the_free_cores_unless_num_threads_is_given(monkeypatch):
    import torch
    from hydra import compose, initialize_config_dir

    from seqnet.cli import process

    monkeypatch.setattr(process, "busy_cores", lambda: (1.0, 2))
    saved = torch.get_num_threads()
    try:
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
            process.apply_process_settings(compose("train", overrides=["process.omp_wait_policy=auto"]))
            assert (
                torch.get_num_threads() == 1
                and "1 intra-op thread" in process.CHOSEN["omp_wait_policy_reason"]
            )
            torch.set_num_threads(2)
            given = compose("train", overrides=["process.omp_wait_policy=auto", "process.num_threads=2"])
            process.apply_process_settings(given)
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)


def test_a_process_spinning_beside_the_run_counts_as_a_busy_core():
    from seqnet.cli.process import busy_cores

    spinner = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
    try:
        time.sleep(0.3)  # past its start-up
        busy, cores = busy_cores(0.3)
    finally:
        spinner.kill()
        spinner.wait()
    assert cores >= 1 and busy >= 0.7


def test_eval_of_several_seeds_reports_their_spread_and_their_ensemble(cli, tmp_path):
    checkpoints = []
    for seed in (1, 2):
        run = tmp_path / f"seed{seed}"
        overrides = ("debug=fast", "trainer.limit_train_batches=3", "trainer.limit_test_batches=1.0")
        assert_ok(cli("seqnet-train", *overrides, f"seed={seed}", f"hydra.run.dir={run}"))
        checkpoints.append(str(run / "checkpoints" / "best.ckpt"))
    result = cli("seqnet-eval", f"ckpt_path=[{','.join(checkpoints)}]")
    assert_ok(result)
    (eval_dir,) = (tmp_path / "seed1" / "evaluations").iterdir()
    evaluated = metrics(eval_dir)
    runs = [metrics(tmp_path / f"seed{seed}")["test/acc"] for seed in (1, 2)]
    assert evaluated["test/acc"] == pytest.approx(sum(runs) / 2, abs=1e-6)
    assert evaluated["test/acc_std"] == pytest.approx(abs(runs[0] - runs[1]) / 2**0.5, abs=1e-6)
    assert 0 <= evaluated["ensemble/test/acc"] <= 1 and "ensemble/test/f1_macro" in evaluated


def test_an_epoch_shorter_than_the_logging_interval_logs_the_loss_across_epochs_without_a_warning(tmp_path):
    env = {**os.environ, "SEQNET_LOG_DIR": str(tmp_path / "logs")}
    env.pop("PYTHONWARNINGS", None)  # the warning must be silenced by seqnet, not by the test
    result = subprocess.run(
        [str(Path(sys.executable).parent / "seqnet-train"), "debug=fast", "trainer.max_epochs=3",
         "trainer.limit_train_batches=2", "trainer.log_every_n_steps=5", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert_ok(result)
    assert "smaller than the logging interval" not in result.stdout + result.stderr
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    assert [event.step for event in events.Scalars("train/loss")] == [4]  # the 5th of 6 steps
