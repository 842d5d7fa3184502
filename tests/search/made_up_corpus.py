"""What reading a question needs from a corpus, made up so tests can say exactly what it knows."""


def idf(term: str) -> float:
    """A made-up IDF: "openai" is everywhere, everything else is informative."""
    return 0.5 if term == "openai" else 4.0


def no_correction(word: str) -> str | None:
    """A corpus whose speller knows no corrections."""
    return None
