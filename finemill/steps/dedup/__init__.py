"""MinHash near-duplicate removal, in FineWeb's four stages (see `finemill.pipeline.plan`).

config.py            MinhashDedup: the recipe's `minhash` settings -> datatrove's MinhashConfig
minhash/             signatures (stage 1), byte for byte datatrove's, computed faster
(datatrove)          MinhashDedupBuckets (stage 2), MinhashDedupCluster (stage 3)
duplicate_filter.py  MinhashDuplicateFilter (stage 4): drops all but one document per cluster
"""
