"""finemill.tokenize: train a byte-level BPE tokenizer and write token shards for training.

Modules, in the order a run uses them:
  patterns      the pre-tokenization regex, the end-of-text token, the GPT-2 byte<->unicode table
  documents     reads OUT/documents/*.parquet as work units (one parquet row group each)
  train_bpe     trains the tokenizer (HF `tokenizers`) and saves tokenizer.json
  encoder       the fastest exact encoder: tiktoken built from the BPE merges, else HF encode_batch
  split         train/val assignment and the seeded document order
  shards        the streaming, parallel, resumable shard writer
  manifest      OUT/tokens/manifest.json, the contract with the training loop
  formats/      the same shards for other trainers: Megatron (.bin/.idx), llm.c (.bin), datatrove (.ds)
  llmc_data     llm.c .bin shards read back with a tokens folder's interface (`finemill train --data`)
  token_source  what --data names: a tokens folder or llm.c shards
  run           the whole command as a function: tokenizer (train, copy or reuse), then shards
  inspect_shard shows a shard row with its token boundaries
  cli           `finemill tokenize`

Nothing heavy is imported here so that `finemill --help` stays fast.
"""
