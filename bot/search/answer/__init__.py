"""The query path, one module a stage: question -> retrieve -> fuse -> rerank -> select."""
