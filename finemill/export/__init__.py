"""Export a trained checkpoint for other tools.

- `hf.py`: `export_checkpoint(ckpt, out_dir)` writes a transformers model folder (LlamaForCausalLM weights as
  model.safetensors, config.json, generation_config.json, and the run's tokenizer with end-of-text as
  bos/eos/pad), loadable offline with AutoModelForCausalLM / AutoTokenizer.
- `cli.py`: the `finemill export` subcommand.

The tokenizer side (special tokens, the end-of-text rule) lives in finemill.tokenize.hf_tokenizer, shared
with the tokens folder that `finemill tokenize` writes.
"""

from finemill.export.hf import export_checkpoint

__all__ = ["export_checkpoint"]
