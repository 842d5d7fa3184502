"""End to end: `python -m bot run` with INDEX_CACHE never trusts a saved index it cannot vouch for.

A crafted saved index carries the right format, version, fingerprint and even correct checksums
(as anyone who can write the cache folder could make), but its sentence offsets point into the
middle of UTF-8 characters. The bot must notice at load time, rebuild with a warning, and answer
every question as a freshly built engine would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from loopback.server import LoopbackDiscord

from bot.config import Settings
from bot.discord_bot.run import EXIT_OK
from bot.discord_bot.text import highlight
from bot.config import cache_dir
from bot.factory import load_engine
from bot.search import cache
from bot.search.engine import SearchSettings
from bot.search.index.mapped import load_mapped, save_mapped

from .helpers import REPO, environment, finish, running_bot

DEFAULT_CORPUS = REPO / "corpus"
QUESTIONS = (
    "how much did microsoft invest in openai",
    "why are microsoft and openai renegotiating their partnership?",
    "what does microsoft get from openai?",
    "who invested $13 billion?",
    "what is stargate?",
    "when did microsoft first invest in openai?",
)



def craft_offsets_inside_characters(path: Path) -> set[int]:
    """Rewrite the saved index so each sentence holding a multi-byte character starts inside it.

    The file is written by the store itself, so format, fingerprint and checksums are all valid.
    Returns the ids of the sentences whose text the crafted offsets change.
    """
    saved = load_mapped(path, {})
    assert saved is not None
    arrays = {name: np.array(array) for name, array in saved.items()}
    blob, offsets = arrays["sentence.text"], arrays["sentence.text_offsets"]
    changed: set[int] = set()
    for sentence in range(len(offsets) - 1):
        inside = np.flatnonzero(blob[offsets[sentence] : offsets[sentence + 1]] & 0xC0 == 0x80)
        if len(inside):
            offsets[sentence] += inside[0]
            changed.update({sentence - 1, sentence})
    arrays["sentence.text_offsets"] = offsets
    assert saved.meta["fingerprint"] == cache.fingerprint(DEFAULT_CORPUS, SearchSettings())
    save_mapped(path, arrays, saved.meta)
    return changed


async def test_a_crafted_saved_index_is_rebuilt_with_a_warning_and_every_answer_is_right(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    """Handling: `SentenceTable.from_arrays` checks dtypes, bounds, order and UTF-8 character boundaries at load
    (the text's encoding as each sentence is shown), so the engine refuses the file and rebuilds. Without it the crafted file loads silently
    and answers quote the wrong text or fail with "Sorry, something went wrong" (UnicodeDecodeError)."""
    index = tmp_path / "index"
    settings = Settings(corpus_dir=DEFAULT_CORPUS, index_cache=index)
    fresh = load_engine(settings)
    changed = craft_offsets_inside_characters(cache_dir(settings) / cache.CACHE_FILE)
    expected = {question: fresh.ask(question) for question in QUESTIONS}
    assert not any(answer.abstained for answer in expected.values())
    quoted = {hit.sentence_id for answer in expected.values() for hit in answer.hits}
    assert quoted & changed, "the questions must quote sentences the crafted offsets damage"

    env = environment(loopback, tmp_path, CORPUS_DIR=str(DEFAULT_CORPUS), INDEX_CACHE=str(index), LOG_LEVEL="INFO")
    async with running_bot(loopback, env, tmp_path) as process:
        for question, answer in expected.items():
            message = await loopback.post_message(loopback.make_user("asker"), f"!ask {question}")
            description = (await loopback.wait_for_reply(message, timeout=30)).json["embeds"][0]["description"]
            for hit in answer.hits:
                assert highlight(hit.text, hit.matched) in description
        process.terminate()
        code, log = await finish(process)
    assert code == EXIT_OK
    assert "saved index not used (a sentence text offset falls inside a UTF-8 character); rebuilt it" in log
    assert " ERROR " not in log and "Traceback" not in log
