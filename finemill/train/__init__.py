"""finemill.train: GPT pretraining on finemill token shards (the model itself is finemill.model).

Modules: config (YAML -> TrainConfig), data (shards -> packed, resumable batches), loop (the training
loop), setup (what a run builds before its first step), resume, distributed (torchrun, DDP), optimizer
(AdamW and the schedule), evals (validation loss, bits per byte, benchmarks), progress (what a run
prints), metrics (JSONL log, MFU, loss plot), interrupt (Ctrl-C and SIGTERM) and cli (`finemill train`,
`finemill sample`).
"""
