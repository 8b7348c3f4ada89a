"""MinHash signatures, byte for byte those of datatrove's MinhashDedupSignature, computed faster.

- `text.simplify`: datatrove's `simplify_text`, with the per-character steps done on numpy arrays;
- words: `finemill.text.words.SpacyCompatibleTokenizer`, datatrove's spaCy splits memoized per run;
- `hashing.shingle_hashes`: all word n-grams of a document hashed in one pass;
- `signature.min_hashes` and the `MinhashSignature` step: the (a*x+b) mod p permutations as one numpy
  operation over the document's distinct shingle hashes.
"""

from finemill.steps.dedup.minhash.signature import MinhashSignature, min_hashes

__all__ = ["MinhashSignature", "min_hashes"]
