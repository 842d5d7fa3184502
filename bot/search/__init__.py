"""The search core: corpus, sentences, tokens, index and answers. It knows nothing of Discord."""
