"""What is built once and searched: tokens, BM25 postings, the sentence table, vectors and their files."""
