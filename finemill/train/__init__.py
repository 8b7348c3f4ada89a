"""finemill.train: a compact GPT pretraining codebase on finemill token shards.

Modules: config (YAML -> dataclasses), model (the transformer), data (shards -> packed, resumable
batches), loop (the training loop, DDP, bf16, compile), checkpoint, metrics (JSONL log, MFU, loss plot),
sample (KV-cached generation) and cli (`finemill train`, `finemill sample`).
"""
