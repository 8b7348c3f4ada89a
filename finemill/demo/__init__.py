"""The bundled demo crawl: `crawl.py` writes a small, deterministic WARC sample that exercises every step
of the recipe (what `finemill run` reads when given no input), from the banks of text in `banks.json`."""
