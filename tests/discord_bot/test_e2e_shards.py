"""Sharding: SHARD_COUNT and SHARD_IDS run discord.py's AutoShardedBot, and processes share one saved index.

Discord sends each guild's events to one shard, (guild id >> 22) % shard count; the loopback server
does the same, so a question is answered only by the process that runs its guild's shard.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import discord
import pytest
from loopback.server import LoopbackDiscord, body_of

from bot.config import AUTO_SHARDS, Settings
from bot.discord_bot.client import ShardedAnswerBot, make_bot
from bot.discord_bot.run import EXIT_OK
from bot.factory import load_engine
from bot.health import DEFAULT_MAX_AGE, check_health
from bot.search.engine import Engine

from .helpers import CORPUS, deny_writing, environment, eventually, finish, start

QUESTION = "when was the lighthouse finished?"


async def test_shard_settings_choose_discords_auto_sharded_bot(engine: Engine) -> None:
    assert not isinstance(make_bot(Settings(), engine), discord.AutoShardedClient)
    split = make_bot(Settings(shard_count=4, shard_ids=(1, 3)), engine)
    assert isinstance(split, ShardedAnswerBot) and (split.shard_count, split.shard_ids) == (4, [1, 3])
    auto = make_bot(Settings(shard_count=AUTO_SHARDS), engine)
    assert isinstance(auto, ShardedAnswerBot) and (auto.shard_count, auto.shard_ids) == (None, None)


def saved_files(folder: Path) -> dict[Path, tuple[int, int, int]]:
    """Every file below `folder` with its inode, modification time and size: any rewrite changes one."""
    return {
        path: (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        for path in folder.rglob("*")
        if path.is_file() and (stat := path.stat())
    }


async def test_two_shard_processes_share_one_saved_index_and_each_answers_its_own_servers(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    """Two `python -m bot run` processes, SHARD_COUNT=2 with SHARD_IDS=0 and 1, one INDEX_CACHE: the first saves
    the index, the sentence vectors and the lightened model, the second only reads them. Each answers in the guild on its shard, and
    each keeps its own heartbeat file fresh while its shard is connected."""
    guilds = [loopback.add_guild(f"shard {n} guild", shard=(n, 2)) for n in range(2)]
    channels = [loopback.add_channel("general", guild_id=guild) for guild in guilds]
    index = tmp_path / "index"

    def env(shard: int) -> dict[str, str]:
        return environment(
            loopback, tmp_path, SHARD_COUNT="2", SHARD_IDS=str(shard), INDEX_CACHE=str(index),
            HEALTH_FILE=str(tmp_path / f"health-{shard}"), LOG_LEVEL="INFO",
        )

    def connected(shard: int) -> bool:
        return shard in loopback.shards and loopback.shards[shard].connection is not None

    processes = [await start(env(0), tmp_path)]
    try:
        await loopback.wait_for(lambda: connected(0), timeout=60)
        saved = saved_files(index)
        assert {path.name.split("-")[0] for path in saved if path.parent.name != "models"} == {
            "engine.mapped", "files.json", "vectors"  # files.json: the corpus files' hashes by stat (bot/search/index/file_hashes.py)
        }
        assert any(path.parent.name == "models" for path in saved)
        processes.append(await start(env(1), tmp_path))
        await loopback.wait_for(lambda: connected(1), timeout=60)
        assert sorted(identify["shard"] for identify in loopback.identifies) == [[0, 2], [1, 2]]
        for channel in channels:
            question = await loopback.post_message(loopback.make_user("asker"), f"!ask {QUESTION}", channel=channel)
            assert (await loopback.wait_for_reply(question, timeout=30)).json["embeds"]
        stats = await loopback.slash(loopback.owner, "stats", channel=channels[1])
        fields = {f["name"]: f["value"] for f in body_of(await loopback.wait_for_response(stats, timeout=30))["embeds"][0]["fields"]}
        assert fields["Shards"].startswith("1 of 2 in this process")
        for shard in range(2):
            await eventually(lambda: check_health(tmp_path / f"health-{shard}", DEFAULT_MAX_AGE)[0], timeout=30)
        assert saved_files(index) == saved, "the second process rewrote the saved index"
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        results = [await finish(process) for process in processes]
    assert [code for code, _ in results] == [EXIT_OK, EXIT_OK]
    second_log = results[1][1]
    assert "Shard 1 of 2 connected" in second_log
    assert "cannot save" not in second_log and "rebuilt" not in second_log and "Traceback" not in second_log


def test_a_read_only_cache_folder_still_serves_and_says_why_nothing_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process given a folder it may not write (another user's, or a read-only mount) reuses what is saved
    there without a word, and builds what is not, with a warning instead of a failed start."""
    index = tmp_path / "index"
    settings = Settings(corpus_dir=CORPUS, index_cache=index)
    load_engine(settings)
    saved = saved_files(index)
    other = tmp_path / "other-articles"
    shutil.copytree(CORPUS, other)
    with deny_writing(index, monkeypatch):
        reused = load_engine(settings)
        built = load_engine(Settings(corpus_dir=other, index_cache=index))
    assert saved_files(index) == saved
    assert reused.semantic_status.vectors == "saved index" and not reused.warnings
    assert [w.split(": ", 1)[1].split(" (")[0] for w in built.warnings] == [
        "cannot save the index: permission denied",
        "cannot save the index: permission denied",
    ]
    assert not built.ask(QUESTION).abstained and not reused.ask(QUESTION).abstained
