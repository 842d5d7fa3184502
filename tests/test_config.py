"""Settings: each declared once in bot/config.py, read from the environment or `.env`, documented in `.env.example`."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import DEFAULT_CACHE, Secret, Settings, SettingsError, load_settings, variables

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / ".env.example"
SETTING_LINE = re.compile(r"^(# )?([A-Z][A-Z0-9_]*)=(.*)$")


def example_lines() -> list[tuple[bool, str, str]]:
    """(active, name, value) for each setting line of `.env.example`; a commented-out one is not active."""
    found = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = SETTING_LINE.match(line)
        if match:
            found.append((match[1] is None, match[2], match[3]))
    return found


def assignments(text: str) -> dict[str, str]:
    """What `docker run --env-file` and systemd's EnvironmentFile take from a file: KEY=value lines, not comments."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith(("#", ";")))
    return {key.strip(): value for key, value in pairs}


def dockerfile_environment() -> dict[str, str]:
    source = (REPO / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = [word.split("=", 1) for line in source.splitlines() if line.startswith("ENV ") for word in line.split()[1:]]
    return dict(pairs)


def systemd_environment() -> dict[str, str]:
    unit = (REPO / "deploy" / "corpus-bot.service").read_text()
    return dict(line.removeprefix("Environment=").split("=", 1) for line in unit.splitlines() if line.startswith("Environment="))


def test_every_setting_has_a_variable_and_a_default_and_nothing_set_means_the_defaults() -> None:
    declared = variables()
    assert len(declared) == len(fields(Settings)) and all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in declared)
    assert load_settings(environ={}, env_file=None) == Settings()
    assert Settings().top_k == declared["TOP_K"] == 3


@pytest.mark.parametrize("name", sorted(variables()))
def test_an_empty_or_blank_value_means_the_default(name: str) -> None:
    assert load_settings(environ={name: "  "}, env_file=None) == Settings()


def test_values_are_read_as_their_types() -> None:
    settings = load_settings(
        environ={
            "DISCORD_TOKEN": " abc ",
            "TOP_K": "10",
            "OWNER_IDS": "12, 34;56",
            "ANSWER_IN_THREAD": "yes",
            "LOG_LEVEL": "debug",
            "COOLDOWN_SECONDS": "2.5",
            "INDEX_CACHE": "~/index",
        },
        env_file=None,
    )
    assert settings.token == Secret("abc")
    assert (settings.top_k, settings.owner_ids, settings.answer_in_thread) == (10, frozenset({12, 34, 56}), True)
    assert (settings.log_level, settings.cooldown_seconds) == ("DEBUG", 2.5)
    assert settings.index_cache == Path("~/index").expanduser()


def test_the_index_is_saved_per_user_by_default_and_can_be_switched_off() -> None:
    assert load_settings(environ={}, env_file=None).index_cache == DEFAULT_CACHE
    assert load_settings(environ={"INDEX_CACHE": "off"}, env_file=None).index_cache is None


@pytest.mark.parametrize(
    "name, value, explained",
    [
        ("TOP_K", "11", "TOP_K=11 is out of range; use a number from 1 to 10"),
        ("TOP_K", "lots", "TOP_K='lots' is not a whole number; use a number from 1 to 10"),
        ("COOLDOWN_QUESTIONS", "0", "COOLDOWN_QUESTIONS=0 is out of range; use a number from 1 to 1000"),
        ("COOLDOWN_SECONDS", "-1", "COOLDOWN_SECONDS=-1.0 must be 0 or more seconds"),
        ("COOLDOWN_SECONDS", "soon", "COOLDOWN_SECONDS='soon' is not a number"),
        ("ANSWER_IN_THREAD", "maybe", "ANSWER_IN_THREAD='maybe' is not true or false"),
        ("OWNER_IDS", "me", "OWNER_IDS='me' must be Discord ids separated by commas"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL='LOUD' is not a level"),
        ("SHARD_COUNT", "many", "SHARD_COUNT='many' is not a whole number; use a number from 1 to 100000, or auto"),
        ("SHARD_IDS", "first", "SHARD_IDS='first' must be shard numbers separated by commas, counting from 0"),
    ],
)
def test_a_value_it_cannot_use_names_the_setting_and_the_fix(name: str, value: str, explained: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(explained)):
        load_settings(environ={name: value}, env_file=None)


def test_shards_are_auto_or_a_count_and_the_ids_must_fall_within_it() -> None:
    assert load_settings(environ={"SHARD_COUNT": "Auto"}, env_file=None).shard_count == "auto"
    split = load_settings(environ={"SHARD_COUNT": "4", "SHARD_IDS": "3, 1"}, env_file=None)
    assert (split.shard_count, split.shard_ids) == (4, (1, 3))
    with pytest.raises(SettingsError, match="SHARD_IDS=1 needs SHARD_COUNT set to the total number of shards"):
        load_settings(environ={"SHARD_COUNT": "auto", "SHARD_IDS": "1"}, env_file=None)
    with pytest.raises(SettingsError, match="SHARD_IDS names shard 2, but with SHARD_COUNT=2 shards are numbered 0 to 1"):
        load_settings(environ={"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, env_file=None)


def test_real_environment_variables_win_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TOP_K=5\nBOT_PREFIX=?\n")
    settings = load_settings(environ={"TOP_K": "7"}, env_file=env_file)
    assert (settings.top_k, settings.prefix) == (7, "?")


def test_env_example_documents_every_setting_at_its_default() -> None:
    lines = example_lines()
    assert sorted(name for _, name, _ in lines) == sorted(variables())
    uncommented = {name: value for _, name, value in lines}
    assert load_settings(environ=uncommented, env_file=None) == Settings()
    text = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(text):
        if SETTING_LINE.match(line):
            above = next(t for t in reversed(text[:number]) if not SETTING_LINE.match(t))
            assert above.startswith("#") and not SETTING_LINE.match(above), f"{line} has no comment above its group"


def test_env_example_sets_nothing_but_an_empty_token() -> None:
    assert assignments(EXAMPLE.read_text(encoding="utf-8")) == {"DISCORD_TOKEN": ""}
    assert load_settings(environ={}, env_file=EXAMPLE) == Settings()


@pytest.mark.parametrize("deployment", [dockerfile_environment, systemd_environment], ids=["docker", "systemd"])
def test_env_example_copied_as_it_is_keeps_the_deployments_paths(deployment) -> None:
    """`docker run --env-file .env` and systemd's EnvironmentFile put the file's lines over the image's or unit's."""
    own = deployment()
    assert {"CORPUS_DIR", "HEALTH_FILE", "INDEX_CACHE", "FEEDBACK_FILE"} <= own.keys()
    merged = {**own, **assignments(EXAMPLE.read_text(encoding="utf-8"))}
    settings = load_settings(environ=merged, env_file=None)
    assert settings.corpus_dir == Path(own["CORPUS_DIR"])
    assert settings.health_file == Path(own["HEALTH_FILE"])
    assert settings.index_cache == Path(own["INDEX_CACHE"])
    assert settings.feedback_file == Path(own["FEEDBACK_FILE"])
