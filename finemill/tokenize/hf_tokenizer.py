"""The run's tokenizer as transformers users load it: `AutoTokenizer.from_pretrained(folder)`.

tokenizer.json (HF `tokenizers`) holds the BPE but no roles for its tokens; transformers reads those from
tokenizer_config.json. The choices, the same for the tokens folder and for an exported model:
- bos = eos = pad = the end-of-text token. Every training document was preceded by end-of-text, so it is
  what starts a document (bos) and what ends one (eos). Padding reuses it: padded positions are masked by
  the attention mask, so which id fills them does not matter, and the vocabulary needs no new row.
- In an exported model (`finemill export`), `tokenizer(text)` starts with end-of-text, as training documents
  (and `finemill sample`'s prompts) did, so the model reads the text as a document start. transformers
  takes that from tokenizer.json's post-processor alone, so the tokens folder, whose tokenizer.json must
  stay the file its shards and sha256 refer to, adds nothing: `finemill tokenize` writes only
  tokenizer_config.json beside it.
- The end-of-text rule: a literal "<|endoftext|>" written *inside* a text is plain text (split into
  ordinary tokens), as in the shards (`Encoder` sets encode_special_tokens); only the tokenizer's own
  bos/eos/pad insertions, or ids a user passes, produce the end-of-text id. transformers calls this
  `split_special_tokens=True`. Decoding the end-of-text id still gives "<|endoftext|>" (or nothing with
  skip_special_tokens=True).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finemill.errors import FinemillError
from finemill.tokenize.patterns import EOT_TOKEN

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

CONFIG_NAME = "tokenizer_config.json"


def tokenizer_roles(eot_token: str = EOT_TOKEN) -> dict[str, Any]:
    """The tokenizer_config.json keys that give the tokens their roles and state the end-of-text rule."""
    return {
        # The generic class: any transformers version builds it from tokenizer.json plus these keys.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": eot_token,
        "eos_token": eot_token,
        "pad_token": eot_token,
        "split_special_tokens": True,  # a literal end-of-text inside a text is text, as in the shards
        "clean_up_tokenization_spaces": False,  # byte-level BPE decodes exactly; no space "cleanup"
    }


def write_tokenizer_config(folder: str | Path, eot_token: str = EOT_TOKEN) -> Path:
    """Write tokenizer_config.json into the folder of a tokenizer.json, which itself stays byte-identical.

    Only the roles are needed: transformers reads the vocabulary and the added tokens from tokenizer.json.
    The file is small and fixed, so this stage writes it without importing transformers (not a dependency).
    """
    target = Path(folder) / CONFIG_NAME
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(tokenizer_roles(eot_token), indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def hf_tokenizer(
    tokenizer_json: str | Path,
    eot_token: str = EOT_TOKEN,
    *,
    add_bos: bool = False,
    model_max_length: int | None = None,
) -> PreTrainedTokenizerFast:
    """tokenizer.json -> a transformers fast tokenizer with the roles and rule of the module docstring."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    path = Path(tokenizer_json)
    if not path.is_file():
        raise FinemillError(f"tokenizer file not found: {path}")
    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises plain Exception for malformed files
        raise FinemillError(f"{path} is not a valid tokenizer.json: {str(e).splitlines()[0][:200]}") from None
    if backend.token_to_id(eot_token) is None:
        raise FinemillError(f"{path} has no {eot_token!r} token")
    roles = {k: v for k, v in tokenizer_roles(eot_token).items() if k != "tokenizer_class"}
    extra = {"model_max_length": model_max_length} if model_max_length else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, add_bos_token=add_bos, add_eos_token=False, **roles, **extra
    )


def save_hf_tokenizer(tok: PreTrainedTokenizerFast, folder: str | Path) -> list[Path]:
    """save_pretrained, naming the generic fast class so that transformers 4.x loads the folder too."""
    paths = [Path(p) for p in tok.save_pretrained(str(folder))]
    config_path = Path(folder) / CONFIG_NAME
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # v5 writes its own backend's name, unknown to 4.x
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
