"""`finemill ablate`'s file and variants: checked before anything runs, resolved to recipes, prefix shared."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from finemill.ablate.heldout import STEP as HOLDOUT
from finemill.ablate.heldout import URLHoldout, is_held_out, url_hash
from finemill.ablate.spec import load_spec
from finemill.ablate.variants import resolve
from finemill.errors import FinemillError
from tests.conftest import REPO

EXAMPLE = REPO / "finemill" / "configs" / "ablate-example.yaml"


def write(tmp_path: Path, variants: dict, **more) -> Path:
    path = tmp_path / "ablation.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": "fineweb",
                "variants": variants,
                "train": "train-tiny",
                "tokens": 100_000,
                "seeds": [0, 1],
                **more,
            },
            sort_keys=False,
        )
    )
    return path


def test_the_example_resolves_with_extraction_and_quality_rules_shared():
    plan = resolve(load_spec(EXAMPLE))
    shared = [s.name for s in plan.shared_steps]
    # every variant keeps language, Gopher and C4: all of that runs once; the hold-out comes right after extraction
    assert shared == [
        "url_filter",
        "extract",
        HOLDOUT,
        "language",
        "gopher_repetition",
        "gopher_quality",
        "c4_quality",
    ]
    own = {v.name: [s.name for s in v.own_steps] for v in plan.variants}
    assert own == {
        "fineweb": ["fineweb_quality", "minhash", "pii"],
        "no_fineweb_rules": ["minhash", "pii"],
        "no_dedup": ["fineweb_quality", "pii"],
    }
    for v in plan.variants:  # the full recipe of each variant is the shared steps then its own
        assert v.recipe.steps == plan.shared_steps + v.own_steps


def test_set_and_remove_change_only_their_step(tmp_path):
    spec = load_spec(
        write(
            tmp_path,
            {
                "base": {},
                "strict_lang": {"set": {"language.threshold": 0.8}},
                "no_gopher": {"remove": ["gopher_repetition", "gopher_quality"]},
            },
        )
    )
    plan = resolve(spec)
    base, strict, no_gopher = (v.recipe for v in plan.variants)
    settings = {v.name: {s.name: s.params for s in v.recipe.steps} for v in plan.variants}
    assert (
        settings["base"]["language"]["threshold"] == 0.65
        and settings["strict_lang"]["language"]["threshold"] == 0.8
    )
    assert {k: v for k, v in settings["strict_lang"].items() if k != "language"} == {
        k: v for k, v in settings["base"].items() if k != "language"
    }
    assert [s.name for s in no_gopher.steps] == [
        s.name for s in base.steps if s.name not in ("gopher_repetition", "gopher_quality")
    ]
    # the language threshold differs, so only the steps before language are shared
    assert [s.name for s in plan.shared_steps] == ["url_filter", "extract", HOLDOUT]


def test_another_extractor_shares_nothing(tmp_path):
    plan = resolve(
        load_spec(
            write(tmp_path, {"base": {}, "resiliparse": {"replace": {"extract": "extract_resiliparse"}}})
        )
    )
    assert plan.shared_steps == [] and plan.shared_key is None
    resil = plan.variants[1].recipe.step_names()
    assert resil[:3] == ["url_filter", "extract_resiliparse", HOLDOUT]
    assert all(v.own_steps == v.recipe.steps for v in plan.variants)


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ({"a": {"remove": ["gopher_qualty"]}}, "'gopher_qualty' is not a step of the base recipe"),
        ({"a": {"set": {"language.treshold": 0.8}}}, "unknown key 'steps[3].language.treshold'"),
        ({"a": {"set": {"langauge.threshold": 0.8}}}, "unknown key 'set.langauge.threshold'"),
        (
            {"a": {"remove": ["language"], "set": {"language.threshold": 0.8}}},
            "step 'language' is not in this variant",
        ),
        ({"a": {"replace": {"extract": "soup"}}}, "unknown step 'soup'"),
        ({"a": {"drop": ["minhash"]}}, "unknown key 'variants.a.drop'"),
        ({"a": {"set": {"language.threshold": "high"}}}, "language.threshold: expected float"),
    ],
)
def test_bad_variants_fail_before_anything_runs_naming_the_key(tmp_path, variants, message):
    with pytest.raises(FinemillError, match="variants.a") as error:
        resolve(load_spec(write(tmp_path, variants)))
    assert message in str(error.value)
    assert not (tmp_path / "ablations").exists()


@pytest.mark.parametrize(
    ("more", "message"),
    [
        ({"token": 5}, "unknown key 'token'"),
        ({"seeds": [1, 1]}, "distinct"),
        ({"eval": {"tasks": ["hellaswag", "nosuchtask"]}}, "unknown task 'nosuchtask'"),
        ({"eval": {"limt": 5}}, "unknown key 'eval.limt'"),
        ({"train": "no-such-config.yaml"}, "train: no such file"),
    ],
)
def test_bad_ablation_files_fail_naming_the_key(tmp_path, more, message):
    with pytest.raises(FinemillError, match=message):
        load_spec(write(tmp_path, {"base": {}}, **more))


def test_the_command_line_fails_in_one_line_before_running(tmp_path):
    path = write(tmp_path, {"base": {}, "a": {"remove": ["nosuchstep"]}})
    done = subprocess.run(
        [sys.executable, "-m", "finemill.cli", "ablate", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "variants.a: remove: 'nosuchstep'" in done.stderr
    assert not (tmp_path / "o").exists()


def test_holdout_is_a_function_of_the_url_alone():
    urls = [f"https://site{i % 97}.example/page/{i}" for i in range(20_000)]
    held = [u for u in urls if is_held_out(u, 0.05)]
    assert 0.04 < len(held) / len(urls) < 0.06  # uniform
    assert held == [u for u in urls if url_hash(u) < 0.05]
    assert not is_held_out(None, 0.5) and not is_held_out("", 0.5)
    # a larger fraction holds out a superset: the held-out set grows, it never reshuffles
    assert set(held) <= {u for u in urls if is_held_out(u, 0.1)}
    from datatrove.data import Document

    step = URLHoldout(fraction=0.05)
    assert step.filter(Document(text="x", id="1", metadata={"url": held[0]})) == (False, "held_out")
    assert (
        step.filter(Document(text="x", id="2", metadata={"url": next(u for u in urls if u not in held)}))
        is True
    )


def test_steps_of_your_own_are_removed_replaced_and_set_by_name(tmp_path):
    (tmp_path / "base.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "custom",
                "steps": [
                    {"extract": {}},
                    {
                        "class": "datatrove.pipeline.filters.RegexFilter",
                        "name": "no_casino",
                        "regex_exp": "casino",
                    },
                    {"language": {"languages": ["en"]}},
                ],
            },
            sort_keys=False,
        )
    )
    path = write(
        tmp_path,
        {
            "base": {},
            "no_casino": {"remove": ["no_casino"]},
            "no_poker": {"set": {"no_casino.regex_exp": "poker"}},
            "regex_default_name": {
                "replace": {
                    "no_casino": {"class": "datatrove.pipeline.filters.RegexFilter", "regex_exp": "dice"}
                }
            },
        },
        base="base.yaml",
    )
    plan = resolve(load_spec(path))
    steps = {v.name: {s.name: s for s in v.recipe.steps} for v in plan.variants}
    assert steps["base"]["no_casino"].params == {"regex_exp": "casino"}
    assert steps["base"]["no_casino"].cls == "datatrove.pipeline.filters.RegexFilter"
    assert "no_casino" not in steps["no_casino"]
    assert steps["no_poker"]["no_casino"].params == {"regex_exp": "poker"}
    assert steps["regex_default_name"]["regex_filter"].params == {"regex_exp": "dice"}
    assert [s.name for s in plan.shared_steps] == ["extract", HOLDOUT]
    with pytest.raises(FinemillError, match="variants.a.*unknown key.*no_casino.regex_ex"):
        resolve(load_spec(write(tmp_path, {"a": {"set": {"no_casino.regex_ex": "x"}}}, base="base.yaml")))


def test_the_holdout_may_come_after_a_later_shared_step(tmp_path):
    plan = resolve(
        load_spec(
            write(
                tmp_path,
                {"base": {}, "no_dedup": {"remove": ["minhash"]}},
                eval={"heldout_after": "language"},
            )
        )
    )
    assert [s.name for s in plan.shared_steps][:4] == ["url_filter", "extract", "language", HOLDOUT]
    with pytest.raises(FinemillError, match="variants.no_lang: eval.heldout_after: 'language' is not a step"):
        resolve(
            load_spec(
                write(
                    tmp_path,
                    {"base": {}, "no_lang": {"remove": ["language"]}},
                    eval={"heldout_after": "language"},
                )
            )
        )


def test_the_training_settings_the_runs_get_are_the_ones_reported(tmp_path):
    from dataclasses import replace

    from finemill.ablate.report import notes
    from finemill.ablate.runs import (
        Unit,
        budget_steps,
        describe_overrides,
        overridden,
        run_settings,
        train_overrides,
    )
    from finemill.config_files import resolve_config
    from finemill.train.config import load_config

    cfg = load_config(resolve_config("train-tiny"))  # tokens_per_step: 2048
    assert budget_steps(cfg, 10_000) == (5, 2048)
    assert budget_steps(replace(cfg, tokens_per_step=None), 10_000, nproc=2) == (
        math.ceil(10_000 / (cfg.micro_batch_size * cfg.model.block_size * 2)),
        cfg.micro_batch_size * cfg.model.block_size * 2,
    )
    settings = run_settings(max_steps=5, checkpoint_every=1, device=cfg.device)
    changes = overridden(cfg, settings)
    assert [c["key"] for c in changes] == [k for k in settings if k != "device"]  # same device: not listed
    assert {c["key"]: c["config"] for c in changes} == {k: getattr(cfg, k) for k in settings if k != "device"}
    lines = describe_overrides(changes, "train-tiny.yaml")
    assert lines[0] == "training settings the ablation overrides in train-tiny.yaml:"
    assert f"  checkpoint_every: {cfg.checkpoint_every} -> 1 (" in lines[2]
    assert describe_overrides([], "t.yaml") == [
        "training settings: t.yaml as written (but seed, data and out, per run)"
    ]
    # what a run is given is what was reported
    unit = Unit("v", 0, "run", "tokens", "t.yaml", 5, 1, 100, "held.parquet", (), None, 1024, cfg.device)
    given = train_overrides(unit)
    assert {k: given[k] for k in settings} == {k: v for k, (v, _) in settings.items()}
    assert given["seed"] == 0 and given["data"] == "tokens" and given["out"] == "run"
    settings = {
        "seeds": [0],
        "tokens": 10,
        "steps": 5,
        "tokens_per_step": 2,
        "heldout": {"source": "s", "bytes": 1},
        "overrides": changes,
    }
    report = {"settings": settings, "reference": "a", "test": "t", "variants": []}
    assert (
        f"training settings overridden: max_steps {cfg.max_steps} -> 5, checkpoint_every" in notes(report)[-1]
    )
