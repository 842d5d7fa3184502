"""RSS after the bot's `!reload` path, against a fresh start on the same corpus.

    python bench/reload_memory.py                 # files under /tmp, removed after

The default corpus is copied to a folder under /tmp. One process loads it as the bot does (the
factory, in a thread), then a 20 MB saved web page (bench/build_memory.py's, from the seed) is
added and the engine is reloaded as `!reload` does it: built again in a thread, swapped in, the
old one let go, three times. A second, fresh process then starts on the same corpus from the saved
index, and a third builds it with no saved index. `SEMANTIC=off`: embedding the page's sentences
would take most of an hour on this machine and says nothing about what a reload keeps.
This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from build_memory import DEFAULT_CORPUS, MB, saved_page
from probe import rss_mb

TARGET_ABOVE_FRESH_MB = 50
RELOADS = 2


def _settings(folder: Path, cache: Path):
    from bot.config import load_settings

    return load_settings({"CORPUS_DIR": str(folder), "INDEX_CACHE": str(cache), "SEMANTIC": "off"}, env_file=None)


def reload_run(folder: Path, cache: Path) -> dict:
    """Start on the corpus, add the page, and reload as `!reload` does; RSS before and after giving memory back."""
    from bot.discord_bot.serving import Serving
    from bot.factory import load_engine
    from bot.memory import return_freed_memory, trim

    return_freed_memory()  # as `python -m bot` does first
    settings = _settings(folder, cache)
    serving = asyncio.run(asyncio.to_thread(lambda: Serving.of(load_engine(settings))))
    started = rss_mb()
    (folder / "page20.html").write_text(saved_page(20 * MB, 7), encoding="utf-8")
    kept, trimmed = [], []
    for _ in range(RELOADS):
        serving = asyncio.run(asyncio.to_thread(lambda: Serving.of(load_engine(settings))))  # the old one is let go here
        gc.collect()
        kept.append(rss_mb())
        trim()
        trimmed.append(rss_mb())
    return {"started_mb": started, "kept_mb": kept, "trimmed_mb": trimmed, "sentences": len(serving.engine.table)}


def fresh_run(folder: Path, cache: Path) -> dict:
    """A fresh start on the same corpus, as the bot makes it: the factory, in a thread."""
    from bot.discord_bot.serving import Serving
    from bot.factory import load_engine
    from bot.memory import return_freed_memory

    return_freed_memory()
    settings = _settings(folder, cache)
    serving = asyncio.run(asyncio.to_thread(lambda: Serving.of(load_engine(settings))))
    gc.collect()
    return {"rss_mb": rss_mb(), "peak_mb": rss_mb("VmHWM"), "sentences": len(serving.engine.table)}


def _child(function: str, folder: Path, cache: Path) -> dict:
    code = f"import sys, json; sys.path[:0] = {[str(Path(__file__).parent)]!r}; import reload_memory as m; print(json.dumps(m.{function}(*map(__import__('pathlib').Path, sys.argv[1:]))))"
    done = subprocess.run([sys.executable, "-c", code, str(folder), str(cache)], capture_output=True, text=True, check=True, env=os.environ)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{function}: {result}", file=sys.stderr, flush=True)
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="reload-memory-") as workdir:
        folder, cache = Path(workdir) / "corpus", Path(workdir) / "cache"
        shutil.copytree(DEFAULT_CORPUS, folder)
        reload = _child("reload_run", folder, cache)
        fresh = _child("fresh_run", folder, cache)
        shutil.rmtree(cache)
        built = _child("fresh_run", folder, cache)
    ceiling = fresh["rss_mb"] + TARGET_ABOVE_FRESH_MB
    met = "✓" if max(reload["trimmed_mb"]) <= ceiling else "✗"
    print(
        "| measure, `SEMANTIC=off` | RSS (MB) | target |\n|---|---|---|\n"
        f"| started on the default corpus | {reload['started_mb']:.0f} | |\n"
        f"| after `!reload` with a 20 MB page added ({reload['sentences']:,} sentences), {RELOADS} times: "
        f"freed memory kept by the C library | {' / '.join(f'{mb:.0f}' for mb in reload['kept_mb'])} | |\n"
        f"| … and after `malloc_trim` gives it back, as `!reload` does | "
        f"{' / '.join(f'{mb:.0f}' for mb in reload['trimmed_mb'])} {met} | ≤ fresh + {TARGET_ABOVE_FRESH_MB} |\n"
        f"| fresh start on the same corpus, saved index | {fresh['rss_mb']:.0f} | |\n"
        f"| fresh start on the same corpus, built (peak) | {built['rss_mb']:.0f} ({built['peak_mb']:.0f}) | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
