"""One settings object, read from the environment and an optional `.env` file.

The token is optional here so the terminal commands and the tests run without one;
only `python -m bot run` demands it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

import platformdirs
from dotenv import dotenv_values

_SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
# In a checkout the default articles sit beside the package; an installed copy has none there.
DEFAULT_CORPUS = _SHIPPED_CORPUS if _SHIPPED_CORPUS.is_dir() else Path("corpus")


# Saved indexes live in the platform's per-user cache folder unless INDEX_CACHE says otherwise.
DEFAULT_CACHE = Path(platformdirs.user_cache_dir("corpus-answer-bot", appauthor=False))


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names the setting and the fix."""


@dataclass(frozen=True, repr=False)
class Secret:
    """A value that never shows itself in logs, reprs or error messages."""

    value: str

    def __repr__(self) -> str:
        return "Secret('********')" if self.value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


AUTO_SHARDS = "auto"
SHARD_COUNT_RANGE = range(1, 100_001)
TOP_K_RANGE = range(1, 11)
"""How many sentences an answer may show: the one rule for TOP_K and `ask --top-k` alike."""

Parse = Callable[[str, str], Any]
"""Turns a setting's raw text (stripped, never empty) into its value; gets the variable's name for messages."""


def _text(name: str, raw: str) -> str:
    return raw


def _secret(name: str, raw: str) -> Secret:
    return Secret(raw)


def _path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _cache(name: str, raw: str) -> Path | None:
    """A folder, or off (also none, false, 0) for no saved index at all."""
    return None if raw.lower() in {"off", "none", "false", "0"} else _path(name, raw)


def whole_number(name: str, raw: str, allowed: range) -> int:
    """`raw` as a whole number in `allowed`, or a SettingsError that names the setting and the range."""
    span = f"{allowed.start} to {allowed.stop - 1}"
    try:
        number = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; use a number from {span}") from None
    if number not in allowed:
        raise SettingsError(f"{name}={number} is out of range; use a number from {span}")
    return number


def _whole(allowed: range) -> Parse:
    return lambda name, raw: whole_number(name, raw, allowed)


def _seconds(name: str, raw: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; use a number of seconds such as {name}=10") from None
    if not number >= 0:
        raise SettingsError(f"{name}={number} must be 0 or more seconds")
    return number


def _bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not true or false; use {name}=true or {name}=false")


def _ids(name: str, raw: str) -> frozenset[int]:
    parts = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise SettingsError(
            f"{name}={raw!r} must be Discord ids separated by commas, e.g. {name}=123456789012345678,234567890123456789"
        )
    return frozenset(int(part) for part in parts)


def _shard_count(name: str, raw: str) -> int | str:
    """`auto` (as many as Discord recommends) or a number of shards."""
    if raw.lower() == AUTO_SHARDS:
        return AUTO_SHARDS
    try:
        return whole_number(name, raw, SHARD_COUNT_RANGE)
    except SettingsError as error:
        raise SettingsError(f"{error}, or {AUTO_SHARDS}") from None


def _shard_ids(name: str, raw: str) -> tuple[int, ...]:
    parts = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise SettingsError(f"{name}={raw!r} must be shard numbers separated by commas, counting from 0, e.g. {name}=0,1")
    return tuple(sorted({int(part) for part in parts}))


def _patterns(name: str, raw: str) -> tuple[str, ...]:
    """Glob patterns separated by commas, e.g. `whatsnew/*,*.txt`."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _log_level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"{name}={level!r} is not a level; use DEBUG, INFO, WARNING or ERROR")
    return level


def _setting(env: str, default: Any, parse: Parse) -> Any:
    """Declare a Settings field once: the variable it is read from, its default and how its text is read."""
    return field(default=default, metadata={"env": env, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """Every setting, each declared once. An unset or empty variable means the default."""

    token: Secret = _setting("DISCORD_TOKEN", Secret(""), _secret)
    prefix: str = _setting("BOT_PREFIX", "!", _text)
    corpus_dir: Path = _setting("CORPUS_DIR", DEFAULT_CORPUS, _path)
    corpus_ignore: tuple[str, ...] = _setting("CORPUS_IGNORE", (), _patterns)
    index_cache: Path | None = _setting("INDEX_CACHE", DEFAULT_CACHE, _cache)
    top_k: int = _setting("TOP_K", 3, _whole(TOP_K_RANGE))
    answer_channels: frozenset[int] = _setting("ANSWER_CHANNELS", frozenset(), _ids)
    allowed_channels: frozenset[int] = _setting("ALLOWED_CHANNELS", frozenset(), _ids)
    answer_in_thread: bool = _setting("ANSWER_IN_THREAD", False, _bool)
    owner_ids: frozenset[int] = _setting("OWNER_IDS", frozenset(), _ids)
    log_level: str = _setting("LOG_LEVEL", "INFO", _log_level)
    feedback_file: Path = _setting("FEEDBACK_FILE", Path("feedback.jsonl"), _path)
    cooldown_seconds: float = _setting("COOLDOWN_SECONDS", 10.0, _seconds)
    cooldown_questions: int = _setting("COOLDOWN_QUESTIONS", 3, _whole(range(1, 1001)))
    # How late an answer may be before newcomers are told to come back (0: no time bound, only the
    # 2,000-question one). 30 s is issue 16's target for a flood, which left answers up to 128 s late;
    # past half a minute the asker has moved on, and "ask again in a minute" serves them better.
    max_answer_delay: float = _setting("MAX_ANSWER_DELAY", 30.0, _seconds)
    message_content: bool = _setting("MESSAGE_CONTENT_INTENT", True, _bool)
    api_base: str | None = _setting("DISCORD_API_BASE", None, _text)
    gateway_url: str | None = _setting("DISCORD_GATEWAY_URL", None, _text)
    health_file: Path | None = _setting("HEALTH_FILE", None, _path)
    semantic: bool = _setting("SEMANTIC", True, _bool)
    semantic_model: Path | None = _setting("SEMANTIC_MODEL", None, _path)
    rerank: bool = _setting("RERANK", True, _bool)
    shard_count: int | str | None = _setting("SHARD_COUNT", None, _shard_count)
    shard_ids: tuple[int, ...] = _setting("SHARD_IDS", (), _shard_ids)

    def __post_init__(self) -> None:
        """SHARD_IDS only makes sense as part of a known SHARD_COUNT."""
        if not self.shard_ids:
            return
        if not isinstance(self.shard_count, int):
            raise SettingsError(
                f"SHARD_IDS={','.join(map(str, self.shard_ids))} needs SHARD_COUNT set to the total number of shards "
                "across all processes, e.g. SHARD_COUNT=2 with SHARD_IDS=0 here and SHARD_IDS=1 in the other process"
            )
        beyond = [shard for shard in self.shard_ids if shard >= self.shard_count]
        if beyond:
            raise SettingsError(
                f"SHARD_IDS names shard {beyond[0]}, but with SHARD_COUNT={self.shard_count} shards are numbered "
                f"0 to {self.shard_count - 1}"
            )


def variables() -> dict[str, Any]:
    """Each environment variable the bot reads, with its default: the declaration above, as data."""
    return {spec.metadata["env"]: spec.default for spec in fields(Settings)}


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | str | None = ".env"
) -> Settings:
    """Read settings; real environment variables win over the `.env` file, and an empty value means the default."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    read: dict[str, Any] = {}
    for spec in fields(Settings):
        name = spec.metadata["env"]
        raw = values.get(name, "").strip()
        if raw:
            read[spec.name] = spec.metadata["parse"](name, raw)
    return Settings(**read)


def cache_dir(settings: Settings) -> Path | None:
    """Where this corpus folder's index is saved: one folder per corpus, so two corpora never share a file."""
    if settings.index_cache is None:
        return None
    folder = settings.corpus_dir.expanduser().resolve()
    return settings.index_cache / f"{folder.name or 'corpus'}-{hashlib.sha256(str(folder).encode()).hexdigest()[:12]}"
