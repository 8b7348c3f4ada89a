"""finemill.model: the trained model, below everything that trains, evaluates, exports or samples it.

Modules: config (ModelConfig), gpt (the transformer), cpu_linear (float32 CPU matmuls on oneDNN or torch's
BLAS), checkpoint (the files a run writes), generate (KV-cached sampling) and loading (a checkpoint or run
folder -> model, tokenizer, config: the one loader `finemill eval`, `export`, `sample` and `ablate` use).
Nothing here imports finemill.train or finemill.eval.
"""
