"""A Discord bot that answers questions from a corpus of articles."""
