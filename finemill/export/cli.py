"""`finemill export`: a checkpoint as a transformers model folder. torch is imported inside the handler."""

from __future__ import annotations

import argparse

EPILOG = """\
example:
  finemill export OUT/train-tiny --out my-model/
  python -c "from transformers import AutoModelForCausalLM, AutoTokenizer; \\
m = AutoModelForCausalLM.from_pretrained('my-model'); t = AutoTokenizer.from_pretrained('my-model')"

The folder holds config.json and generation_config.json (LlamaForCausalLM), model.safetensors (fp32),
tokenizer.json and tokenizer_config.json (end-of-text is bos, eos and pad; the tokenizer adds it in front
of each text, as training documents had it; a literal "<|endoftext|>" inside a text stays plain text).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a checkpoint as a transformers model folder",
        description="Convert a trained checkpoint into a folder that transformers' AutoModelForCausalLM and "
        "AutoTokenizer load offline (the model as LlamaForCausalLM, same logits).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "checkpoint", metavar="CKPT", help="a checkpoint file, or a run folder (its newest checkpoint)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (must be absent or empty)")
    p.add_argument("--tokenizer", metavar="JSON", help="tokenizer.json to use (default: the run's)")
    p.add_argument(
        "--force", action="store_true", help="replace DIR if it is not empty (its contents are deleted)"
    )
    p.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    from finemill.export.hf import export_checkpoint

    export_checkpoint(args.checkpoint, args.out, tokenizer=args.tokenizer, force=args.force, log=print)
    return 0
