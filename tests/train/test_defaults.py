"""`finemill train` without --config says it trains the built-in defaults, and which (#15 item 10)."""

from __future__ import annotations

from finemill.cli import main as cli_main
from finemill.train.config import TrainConfig


def test_train_without_config_names_the_defaults_it_uses(tmp_path, capsys):
    code = cli_main(["train", "--data", str(tmp_path / "no-tokens"), "--set", "lr=1e-3"])
    err = capsys.readouterr().err
    assert code == 2  # no tokens there: the notice comes before that error, after the config checks
    notice = next(line for line in err.splitlines() if "no --config" in line)
    defaults = TrainConfig()
    assert f"a {defaults.model.n_layer}-layer GPT" in notice and f"width {defaults.model.n_embd}" in notice
    assert f"{defaults.max_steps} steps" in notice and "lr 0.001" in notice  # the --set value is what runs
    assert "--config train-tiny" in notice


def test_train_with_a_config_says_nothing_about_defaults(tmp_path, capsys):
    code = cli_main(["train", "--config", "train-tiny", "--data", str(tmp_path / "no-tokens")])
    assert code == 2 and "no --config" not in capsys.readouterr().err
