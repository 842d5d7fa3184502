"""End to end: sources, source N, help, reload, sync and the cooldown, against the loopback server."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from loopback.server import LoopbackDiscord, body_of, custom_ids

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.text import escape
from bot.search.engine import Engine

from .helpers import CORPUS, StartBot

QUESTION = "when was the lighthouse finished?"


async def test_sources_lists_every_article_linked_where_a_url_is_known(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    question = await loopback.post_message(loopback.make_user("alice"), "!sources")
    embed = (await loopback.wait_for_reply(question)).json["embeds"][0]
    lines = embed["description"].split("\n")
    assert len(lines) == len(engine.sources())
    for line, article in zip(lines, engine.sources()):
        assert line.startswith(f"#{article.number} ")
        assert escape(article.title) in line
        assert (f"]({article.url})" in line) == (article.url is not None)


async def test_slash_sources_and_source_answer_the_interaction(bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine) -> None:
    interaction = await loopback.slash(loopback.make_user("bob"), "sources")
    sent = await loopback.wait_for_response(interaction)
    assert sent.path.endswith("/callback") and sent.json["type"] == 4
    assert body_of(sent)["embeds"][0]["title"] == f"Sources ({len(engine.sources())} articles)"
    one = await loopback.slash(loopback.make_user("bob"), "source", {"number": 3})
    embed = body_of(await loopback.wait_for_response(one))["embeds"][0]
    assert embed["title"] == f"#3 {escape(engine.article(3).title)}"  # type: ignore[union-attr]


async def test_a_long_source_list_pages_with_buttons(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    for number in range(1, 13):
        (tmp_path / f"{number:02}.txt").write_text(f"Article {number} is about topic number {number}.\n")
    many = Engine.from_dir(tmp_path)
    await start_bot(with_engine=many, corpus_dir=tmp_path)
    question = await loopback.post_message(loopback.make_user("carol"), "!sources")
    sent = await loopback.wait_for_reply(question)
    first = sent.json["embeds"][0]
    assert first["footer"]["text"].startswith("Page 1 of 2")
    assert len(first["description"].split("\n")) == render.ARTICLES_PER_PAGE
    assert custom_ids(sent.json) == ["sources:page:1", "sources:page:2"]
    click = await loopback.click(loopback.make_user("dan"), loopback.message_for(sent), "sources:page:2")
    update = await loopback.wait_for_request("POST", rf"/interactions/{click['id']}/.+/callback")
    assert update.json["type"] == 7  # the list message itself turns the page
    second = update.json["data"]["embeds"][0]
    assert second["footer"]["text"].startswith("Page 2 of 2")
    assert second["description"].split("\n")[0].startswith("#11 ")


async def test_source_n_shows_details_and_opening_lines(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    article = engine.article(2)
    assert article is not None and article.url
    question = await loopback.post_message(loopback.make_user("erin"), "!source 2")
    embed = (await loopback.wait_for_reply(question)).json["embeds"][0]
    assert embed["title"] == f"#2 {escape(article.title)}"
    assert embed["url"] == article.url
    for line in engine.opening(2):
        assert f"> {escape(line)}" in embed["description"]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Publisher"] == escape(article.publisher or "")
    assert fields["Sentences"] == str(article.sentence_count)


async def test_source_with_a_wrong_number_or_none_explains(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    frank = loopback.make_user("frank")
    missing = await loopback.post_message(frank, "!source 9")
    assert (await loopback.wait_for_reply(missing)).json["content"].startswith("There is no article #9; I know 3")
    word = await loopback.post_message(frank, "!source two")
    content = (await loopback.wait_for_reply(word)).json["content"]
    assert "`!source <number>`" in content and "`!source 2`" in content
    bare = await loopback.post_message(frank, "!ask")
    content = (await loopback.wait_for_reply(bare)).json["content"]
    assert content.startswith("`!ask <question>` needs question.") and "For example: `!ask " in content


async def test_help_lists_commands_with_examples_and_operator_commands_only_for_owners(
    bot: AnswerBot, loopback: LoopbackDiscord
) -> None:
    user_help = await loopback.post_message(loopback.make_user("gina"), "!help")
    fields = (await loopback.wait_for_reply(user_help)).json["embeds"][0]["fields"]
    assert {field["name"].split()[0] for field in fields} == {"!ask", "!sources", "!source", "!help"}
    assert all("Example: `!" in field["value"] for field in fields)
    owner_help = await loopback.post_message(loopback.owner, "!help")
    fields = (await loopback.wait_for_reply(owner_help)).json["embeds"][0]["fields"]
    assert {"!reload", "!sync", "!stats"} <= {field["name"].split()[0] for field in fields}


async def test_help_about_one_command_for_prefix_and_slash_alike(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    """`!help ask` and `/help command:ask` give that command's help, each in its own form."""
    gina = loopback.make_user("gina")
    prefix = (await loopback.wait_for_reply(await loopback.post_message(gina, "!help ask"))).json["embeds"][0]
    assert prefix["title"] == "!ask <question>"
    assert prefix["description"].startswith("Answer a question with the best sentences from the articles.")
    assert prefix["fields"] == [{"name": "Example", "value": "`!ask who invested $13 billion?`", "inline": False}]
    slash = body_of(await loopback.wait_for_response(await loopback.slash(gina, "help", {"command": "ask"})))
    assert slash["flags"] & 64
    assert slash["embeds"][0]["title"] == "/ask question [private]"
    assert "`private: True` shows the answer to you alone" in slash["embeds"][0]["description"]
    assert slash["embeds"][0]["fields"][0]["value"] == "`/ask who invested $13 billion?`"
    listing = body_of(await loopback.wait_for_response(await loopback.slash(gina, "help")))
    assert {field["name"].split()[0] for field in listing["embeds"][0]["fields"]} == {"/ask", "/sources", "/source", "/help"}


async def test_help_about_an_unknown_or_operator_command_says_so(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    hal = loopback.make_user("hal")
    for asked in ("!help nonsense", "!help sync"):
        request = await loopback.post_message(hal, asked)
        name = asked.split()[1]
        assert (await loopback.wait_for_reply(request)).json["content"] == (
            f"I have no command called “{name}”. `!help` lists them all."
        )
    owner = await loopback.post_message(loopback.owner, "!help sync")
    embed = (await loopback.wait_for_reply(owner)).json["embeds"][0]
    assert embed["title"] == "!sync [global|here|clear|clear global]"
    assert "- `clear global`: remove the global commands" in embed["description"]


async def test_sync_only_on_request_and_only_by_an_owner(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    assert not [r for r in loopback.requests if r.method == "PUT"], "nothing syncs on start"
    denied = await loopback.post_message(loopback.make_user("hank"), "!sync")
    assert (await loopback.wait_for_reply(denied)).json["content"] == "Only the bot's operator can do that."
    unknown = await loopback.post_message(loopback.owner, "!sync everywhere")
    assert (await loopback.wait_for_reply(unknown)).json["content"].startswith(
        "I didn't understand that. Usage: `!sync [global|here|clear|clear global]`."
    )
    assert not [r for r in loopback.requests if r.method == "PUT"]


EVERY_COMMAND = ["/ask", "/help", "/source", "/sources", "/stats", "“Ask the articles” (Apps menu)"]


async def sync(loopback: LoopbackDiscord, choice: str) -> str:
    request = await loopback.post_message(loopback.owner, f"!sync {choice}".strip())
    return (await loopback.wait_for_reply(request)).json["content"]


async def test_the_readmes_sync_steps_end_with_each_command_listed_once(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    """README, "Publish the slash commands": try it here at once, then publish everywhere and drop the copies."""
    names = ["Ask the articles", "ask", "help", "source", "sources", "stats"]
    here = await sync(loopback, "here")
    assert here.startswith("Copied 6 commands to this server. People here now see: ")
    assert loopback.command_menu() == names
    published = await sync(loopback, "")
    assert published.startswith("Published 6 commands to every server.")
    assert "show twice: `!sync clear` keeps the global ones" in published
    assert loopback.command_menu() == sorted(names * 2), "what the old README's steps left: every command twice"
    cleared = await sync(loopback, "clear")
    assert cleared == f"Removed this server's copies. People here now see: {', '.join(EVERY_COMMAND)}."
    assert loopback.command_menu() == names


async def test_sync_can_take_the_commands_back_and_publish_them_again(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    """Clearing the global commands leaves the bot's own list whole: `!sync` publishes all of them again."""
    await sync(loopback, "global")
    assert (await sync(loopback, "clear global")).startswith("Removed the global commands. People here now see no")
    assert loopback.command_menu() == []
    assert (await sync(loopback, "global")).startswith("Published 6 commands to every server.")
    stats = next(c for c in loopback.commands[None] if c["name"] == "stats")
    assert int(stats["default_member_permissions"]) == 1 << 5, "listed for server managers (Manage Server) only"
    dm = loopback.dm_channel(loopback.owner)
    request = await loopback.post_message(loopback.owner, "!sync here", channel=dm)
    assert (await loopback.wait_for_reply(request)).json["content"].startswith("`here` only works in a server")


async def test_stats_show_the_operator_how_the_bot_is_doing(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    ivy = loopback.make_user("ivy")
    for text in (QUESTION, QUESTION, "What is the capital of Mongolia?"):
        await loopback.wait_for_reply(await loopback.post_message(ivy, f"!ask {text}"))
    bot.settings.feedback_file.write_text(
        '{"vote": "up", "user": "a", "message_id": 1}\n{"vote": "down", "user": "b", "message_id": 1}\nnot json\n'
    )
    denied = body_of(await loopback.wait_for_response(await loopback.slash(ivy, "stats")))
    assert denied["flags"] & 64 and denied["content"] == "Only the bot's operator can do that."
    shown = body_of(await loopback.wait_for_response(await loopback.slash(loopback.owner, "stats")))
    assert shown["flags"] & 64
    fields = {field["name"]: field["value"] for field in shown["embeds"][0]["fields"]}
    assert fields["Questions"] == "3 asked: 2 answered, 1 not (33%)"
    assert re.fullmatch(r"p50 [\d,]+ ms · p95 [\d,]+ ms \(the last 3 questions\)", fields["Reply time"])
    assert fields["Votes"] == "👍 1 · 👎 1 on 1 answer (1 damaged line skipped)"
    sentences = sum(article.sentence_count for article in engine.sources())
    assert fields["Articles"] == f"3 articles, {sentences} sentences"
    assert fields["Model"] == "off (word matching only)"  # the fixture engine has no sentence model
    assert re.fullmatch(r"\d+ s", fields["Up for"]) and "Shards" not in fields


async def test_reload_swaps_in_a_changed_corpus(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    bot = await start_bot(with_engine=Engine.from_dir(corpus), corpus_dir=corpus)
    (corpus / "04-glaciers.txt").write_text("Glaciers carve valleys into a U shape as they slowly move downhill.\n")
    request = await loopback.post_message(loopback.owner, "!reload")
    content = (await loopback.wait_for_reply(request)).json["content"]
    assert content.startswith("Reloaded: 4 articles (was 3)")
    assert len(bot.engine.sources()) == 4
    question = await loopback.post_message(loopback.make_user("iris"), "!ask what shape do glaciers carve?")
    description = (await loopback.wait_for_reply(question)).json["embeds"][0]["description"]
    assert "**Glaciers**" in description


async def test_a_corpus_that_fails_to_load_leaves_the_old_index_serving(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    old = Engine.from_dir(corpus)
    bot = await start_bot(with_engine=old, corpus_dir=corpus)
    for article in corpus.iterdir():
        article.unlink()
    request = await loopback.post_message(loopback.owner, "!reload")
    content = (await loopback.wait_for_reply(request)).json["content"]
    assert content.startswith("Reload failed, so I'm still answering from the previous 3 articles.")
    assert str(corpus) in content.replace("\\", "")
    assert bot.engine is old
    question = await loopback.post_message(loopback.make_user("jo"), f"!ask {QUESTION}")
    assert (await loopback.wait_for_reply(question)).json["embeds"]


async def test_reload_is_for_owners_only(bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine) -> None:
    request = await loopback.post_message(loopback.make_user("kim"), "!reload")
    assert (await loopback.wait_for_reply(request)).json["content"] == "Only the bot's operator can do that."
    assert bot.engine is engine


async def test_cooldown_notice_once_then_silence_and_other_users_unaffected(
    start_bot: StartBot, loopback: LoopbackDiscord
) -> None:
    await start_bot(cooldown_questions=2, cooldown_seconds=600.0)
    lee = loopback.make_user("lee")
    for _ in range(2):
        asked = await loopback.post_message(lee, f"!ask {QUESTION}")
        assert (await loopback.wait_for_reply(asked)).json["embeds"]
    third = await loopback.post_message(lee, f"!ask {QUESTION}")
    notice = (await loopback.wait_for_reply(third)).json
    assert notice["content"].startswith("You're asking faster than I can keep up with. Try again in")
    assert not notice.get("embeds")
    fourth = await loopback.post_message(lee, f"!ask {QUESTION}")
    other = await loopback.post_message(loopback.make_user("max"), f"!ask {QUESTION}")
    assert (await loopback.wait_for_reply(other)).json["embeds"]
    replied_to = {str((r.json or {}).get("message_reference", {}).get("message_id")) for r in loopback.sent_messages()}
    assert fourth["id"] not in replied_to


async def test_slash_cooldown_notice_is_ephemeral(start_bot: StartBot, loopback: LoopbackDiscord) -> None:
    await start_bot(cooldown_questions=1, cooldown_seconds=600.0)
    nia = loopback.make_user("nia")
    first = await loopback.slash(nia, "ask", {"question": QUESTION})
    await loopback.wait_for_response(first)
    second = await loopback.slash(nia, "ask", {"question": QUESTION})
    notice = await loopback.wait_for_response(second)
    assert body_of(notice)["flags"] & 64
    assert body_of(notice)["content"].startswith("You're asking faster")


async def test_without_owner_ids_the_applications_owner_is_the_operator(
    start_bot: StartBot, loopback: LoopbackDiscord
) -> None:
    await start_bot(owner_ids=frozenset())
    request = await loopback.post_message(loopback.owner, "!reload")
    assert (await loopback.wait_for_reply(request)).json["content"].startswith("Reloaded: 3 articles (was 3)")
