"""ONNX models as data with checksums: the sentence embedder, the reranker and the graph lightening."""
