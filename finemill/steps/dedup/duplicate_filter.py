"""The last MinHash stage, with the characters of the documents it keeps counted.

datatrove's MinhashDedupFilter counts documents only; the funnel also needs characters after dedup.
"""

from __future__ import annotations

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.dedup import MinhashDedupFilter


class MinhashDuplicateFilter(MinhashDedupFilter):
    """Drops the documents MinHash clustering marked as duplicates (all but one per cluster)."""

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in super().run(data, rank, world_size):
            self.update_doc_stats(doc)
            yield doc
