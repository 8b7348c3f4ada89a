"""A finemill checkpoint -> a transformers model folder (LlamaForCausalLM), loadable offline.

finemill's GPT is Llama's architecture: pre-norm RMSNorm blocks, RoPE, SwiGLU, no biases. What differs is
only how the weights are stored, so the export is a renaming plus three splits:
- attention `qkv` (3C x C) -> q_proj, k_proj, v_proj: rows [0, C), [C, 2C), [2C, 3C), each already in
  head-major order (head h = rows h*D..h*D+D), as the model's view(B, T, 3, H, D) reads them;
- MLP `gate_up` (2F x C) -> gate_proj (first F rows), up_proj (last F), as its chunk(2) reads them;
- the embedding and output tables lose their padding rows (the vocabulary is padded to a multiple of 64).
RoPE needs no permutation: finemill rotates channel pairs (i, i + D/2), which is transformers' Llama
`rotate_half` layout (cos/sin tables are the frequencies concatenated twice); only checkpoints converted
from Meta's interleaved-pair layout need the permutation.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from finemill.errors import FinemillError

MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
)


def export_checkpoint(
    checkpoint: str | Path,
    out_dir: str | Path,
    *,
    tokenizer: str | Path | None = None,
    force: bool = False,
    log=None,
) -> Path:
    """Write the checkpoint (a file, or a run folder: its newest) as a transformers folder; return out_dir.

    The tokenizer is `tokenizer` if given, else the run folder's tokenizer.json, else the path the
    checkpoint recorded; its sha256 must be the one the model was trained with. out_dir must be absent or
    empty unless `force`, which replaces it. The folder is built beside out_dir and renamed into place, so
    an interrupted export leaves no half-written model.
    """
    from finemill.model.loading import load_model
    from finemill.tokenize.hf_tokenizer import hf_tokenizer, save_hf_tokenizer

    _require_transformers()
    out = Path(out_dir).resolve()
    _check_out_dir(out, force)
    loaded = load_model(checkpoint, "cpu", tokenizer)
    model, state, path = loaded.model, loaded.state, loaded.path
    if force and (path.resolve().is_relative_to(out) or Path.cwd().resolve().is_relative_to(out)):
        raise FinemillError(f"refusing to replace {out}: it holds the checkpoint or the current folder")
    hf_model = to_llama(model, eot_id=loaded.eot_id)
    hf_tok = hf_tokenizer(
        loaded.tokenizer_path, loaded.eot_token, add_bos=True, model_max_length=model.config.block_size
    )
    if len(hf_tok) != model.config.vocab_size:
        raise FinemillError(
            f"{loaded.tokenizer_path} has {len(hf_tok)} tokens but the model's vocabulary is "
            f"{model.config.vocab_size}"
        )
    tmp = out.with_name(f".{out.name}.export-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        hf_model.save_pretrained(str(tmp))  # config.json, generation_config.json, model.safetensors
        save_hf_tokenizer(hf_tok, tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if log:
        log(f"exported {path} (step {state.get('step')}) to {out}")
    return out


def _require_transformers() -> None:
    try:
        import transformers
    except ImportError:
        raise FinemillError("finemill export needs transformers: pip install 'finemill[hf]'") from None
    if int(transformers.__version__.split(".")[0]) < 5:  # v4's LlamaConfig ignores rope_parameters
        raise FinemillError(f"finemill export needs transformers >= 5 (found {transformers.__version__})")


def _check_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FinemillError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FinemillError(f"{out} is not empty; pass --force to replace it")
    if not out.parent.is_dir():
        raise FinemillError(f"parent folder not found: {out.parent}")


def llama_config(model, eot_id: int):
    """The LlamaConfig of a finemill GPT (vocab without padding rows)."""
    from transformers import LlamaConfig

    c = model.config
    return LlamaConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.n_embd,
        intermediate_size=model.blocks[0].mlp.down.in_features,
        num_hidden_layers=c.n_layer,
        num_attention_heads=c.n_head,
        num_key_value_heads=c.n_head,  # plain multi-head attention
        head_dim=c.n_embd // c.n_head,
        hidden_act="silu",
        max_position_embeddings=c.block_size,
        rms_norm_eps=c.norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": float(c.rope_theta)},
        tie_word_embeddings=c.tie_embeddings,
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
        pad_token_id=eot_id,
        dtype="float32",
    )


def llama_state_dict(model) -> dict[str, Any]:
    """finemill GPT weights under LlamaForCausalLM's names (see the module docstring for the mapping)."""
    c = model.config
    V, C = c.vocab_size, c.n_embd
    sd = {"model.embed_tokens.weight": model.wte.weight[:V], "model.norm.weight": model.norm_f.weight}
    if not c.tie_embeddings:
        sd["lm_head.weight"] = model.lm_head.weight[:V]
    for i, block in enumerate(model.blocks):
        p = f"model.layers.{i}."
        q, k, v = block.attn.qkv.weight.split(C, dim=0)
        gate, up = block.mlp.gate_up.weight.chunk(2, dim=0)
        sd.update(
            {
                p + "input_layernorm.weight": block.attn_norm.weight,
                p + "self_attn.q_proj.weight": q,
                p + "self_attn.k_proj.weight": k,
                p + "self_attn.v_proj.weight": v,
                p + "self_attn.o_proj.weight": block.attn.proj.weight,
                p + "post_attention_layernorm.weight": block.mlp_norm.weight,
                p + "mlp.gate_proj.weight": gate,
                p + "mlp.up_proj.weight": up,
                p + "mlp.down_proj.weight": block.mlp.down.weight,
            }
        )
    return {name: t.detach().clone().contiguous() for name, t in sd.items()}


def to_llama(model, eot_id: int):
    """A LlamaForCausalLM (eval mode, fp32, CPU) with the weights of a finemill GPT."""
    from transformers import GenerationConfig, LlamaForCausalLM

    config = llama_config(model, eot_id)
    hf = LlamaForCausalLM(config)
    missing, unexpected = hf.load_state_dict(llama_state_dict(model), strict=False)
    if config.tie_word_embeddings:
        hf.tie_weights()
        missing = [m for m in missing if m != "lm_head.weight"]
    if missing or unexpected:  # the mapping above no longer matches transformers' Llama
        raise FinemillError(f"weight mapping mismatch: missing {missing}, unexpected {unexpected}")
    hf.generation_config = GenerationConfig(bos_token_id=eot_id, eos_token_id=eot_id, pad_token_id=eot_id)
    return hf.float().eval()
