"""finemill.ablate: `finemill ablate`, FineWeb's ablation method as one command.

spec.py       the ablation file as data (base recipe, variants, train config, tokens, seeds, eval), checked
variants.py   variants -> recipes (remove / replace / set), the hold-out step, the shared prefix of steps
heldout.py    the URL-hash hold-out step (`url_holdout`): the texts bits per byte is measured on
data.py       shared run, variant runs, held-out texts, one tokenizer, token shards (all resumable)
runs.py       one training run per variant x seed: equal token budgets, curve and benchmarks, in parallel
report.py     mean ± std over seeds, Welch's t against the first variant, table, JSON, PNG, HTML
ablation.py   run_ablation(): the whole thing
cli.py        the command line
"""
