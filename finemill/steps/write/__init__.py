"""Writers of a run's documents: `parquet.DocumentWriter` (kept, FineWeb's columns) and
`parquet.RemovedWriter` (removed, with step and reason), both atomic (hidden until complete)."""
