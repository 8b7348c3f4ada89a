"""The quality_hf step's documents/s: a BERT of a chosen size with random weights (the speed does not
depend on the weights) on real documents, batched by tokens against one document at a time.

    python -m benchmarks.speed.quality_hf                          # BERT-base size (FineWeb-Edu's classifier), CPU
    python -m benchmarks.speed.quality_hf --size small --docs 256
    python -m benchmarks.speed.quality_hf --device cuda --docs 2048 --batch-tokens 65536
    python -m benchmarks.speed.quality_hf --model my-classifier/  # a real model folder instead

The model folder is built in a temporary folder: BertConfig of the size, a word-level vocabulary of the
documents' most frequent words (30,522 entries, as BERT's), a regression head, window 512 tokens. It prints
documents/s and tokens/s of the step (datatrove batches of --batch-docs, passes of --batch-tokens) and of
one-document-at-a-time scoring on the first --single documents, the ratio, and the largest score difference.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import SHARED_DATA
from benchmarks.speed.filters import load_texts

DEFAULT_INPUT = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
SIZES = {"base": (12, 768, 12, 3072), "small": (4, 512, 8, 2048), "mini": (4, 256, 4, 1024)}


def build_model(folder: Path, texts: list[str], size: str) -> str:
    import torch
    import transformers

    torch.manual_seed(0)
    counts = Counter(w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower()))
    words = [w for w, _ in counts.most_common(30522 - 5)]
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n"
    )
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), model_max_length=512)
    layers, hidden, heads, inner = SIZES[size]
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=inner,
        max_position_embeddings=512,
        num_labels=1,
    )
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="JSONL.gz or a folder of parquet")
    parser.add_argument(
        "--model", help="a transformers classifier folder (default: a random BERT built here)"
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="base", help="size of the BERT built here")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--docs", type=int, default=64, help="documents scored by the step")
    parser.add_argument("--single", type=int, default=16, help="documents scored one at a time, to compare")
    parser.add_argument("--batch-docs", type=int, default=256)
    parser.add_argument("--batch-tokens", type=int, default=16384)
    args = parser.parse_args()

    from datatrove.data import Document

    from finemill.steps.filters.quality_hf import QualityHFFilter

    texts = [t for t in load_texts(args.input) if t]
    texts = (texts * (args.docs // len(texts) + 1))[: args.docs]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_model(Path(tmp), texts, args.size)
        step = QualityHFFilter(
            model,
            batch_docs=args.batch_docs,
            batch_tokens=args.batch_tokens,
            device=args.device,
            threads=args.threads,
        )
        tokenizer, _, device, window = step.loaded()
        step.score_texts(texts[:2])  # warm-up: kernels, allocator
        tokens = sum(min(len(ids), window) for ids in tokenizer(texts)["input_ids"])
        started = time.perf_counter()
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
        for start in range(0, len(docs), args.batch_docs):
            step.filter_batch(docs[start : start + args.batch_docs])
        if device == "cuda":
            import torch

            torch.cuda.synchronize()
        batched = time.perf_counter() - started
        single = texts[: args.single]
        started = time.perf_counter()
        alone = [step.score_texts([t])[0] for t in single]
        one_by_one = time.perf_counter() - started
    difference = max(abs(a - d.metadata["quality_score"]) for a, d in zip(alone, docs, strict=False))
    print(f"model: {args.model or 'random BERT-' + args.size}, device {device}, window {window} tokens")
    print(
        f"step (batched): {len(texts) / batched:,.1f} docs/s, {tokens / batched:,.0f} tokens/s ({len(texts)} docs)"
    )
    print(f"one at a time:  {len(single) / one_by_one:,.1f} docs/s ({len(single)} docs)")
    print(
        f"ratio: {(len(texts) / batched) / (len(single) / one_by_one):.2f}; largest score difference {difference:.2e}"
    )


if __name__ == "__main__":
    main()
