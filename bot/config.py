"""One settings object, read from the environment and an optional `.env` file.

The token is optional here so the terminal commands and the tests run without one;
only `python -m bot run` demands it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

_SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
# In a checkout the default articles sit beside the package; an installed copy has none there.
DEFAULT_CORPUS = _SHIPPED_CORPUS if _SHIPPED_CORPUS.is_dir() else Path("corpus")


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


@dataclass(frozen=True)
class Settings:
    token: Secret = field(default_factory=lambda: Secret(""))
    prefix: str = "!"
    corpus_dir: Path = DEFAULT_CORPUS
    index_cache: Path | None = None
    top_k: int = 3
    answer_channels: frozenset[int] = frozenset()
    allowed_channels: frozenset[int] = frozenset()
    answer_in_thread: bool = False
    owner_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    feedback_file: Path = Path("feedback.jsonl")
    cooldown_seconds: float = 10.0
    cooldown_questions: int = 3
    message_content: bool = True
    api_base: str | None = None
    gateway_url: str | None = None
    health_file: Path | None = None
    semantic: bool = True
    semantic_model: Path | None = None


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | str | None = ".env"
) -> Settings:
    """Read settings; real environment variables win over the `.env` file."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def text(name: str, default: str) -> str:
        return values.get(name, "").strip() or default

    return Settings(
        token=Secret(values.get("DISCORD_TOKEN", "").strip()),
        prefix=text("BOT_PREFIX", "!"),
        corpus_dir=Path(text("CORPUS_DIR", str(DEFAULT_CORPUS))).expanduser(),
        index_cache=_optional_path(values.get("INDEX_CACHE", "")),
        top_k=_int(values, "TOP_K", 3, low=1, high=10),
        answer_channels=_ids(values, "ANSWER_CHANNELS"),
        allowed_channels=_ids(values, "ALLOWED_CHANNELS"),
        answer_in_thread=_bool(values, "ANSWER_IN_THREAD", False),
        owner_ids=_ids(values, "OWNER_IDS"),
        log_level=_log_level(values),
        feedback_file=Path(text("FEEDBACK_FILE", "feedback.jsonl")).expanduser(),
        cooldown_seconds=_float(values, "COOLDOWN_SECONDS", 10.0, low=0.0),
        cooldown_questions=_int(values, "COOLDOWN_QUESTIONS", 3, low=1, high=1000),
        message_content=_bool(values, "MESSAGE_CONTENT_INTENT", True),
        api_base=values.get("DISCORD_API_BASE", "").strip() or None,
        gateway_url=values.get("DISCORD_GATEWAY_URL", "").strip() or None,
        health_file=_optional_path(values.get("HEALTH_FILE", "")),
        semantic=_bool(values, "SEMANTIC", True),
        semantic_model=_optional_path(values.get("SEMANTIC_MODEL", "")),
    )


def _optional_path(raw: str) -> Path | None:
    raw = raw.strip()
    return Path(raw).expanduser() if raw else None


def _int(values: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; use e.g. {name}={default}") from None
    if not low <= number <= high:
        raise SettingsError(f"{name}={number} is out of range; use a number from {low} to {high}")
    return number


def _float(values: Mapping[str, str], name: str, default: float, *, low: float) -> float:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; use e.g. {name}={default}") from None
    if number < low:
        raise SettingsError(f"{name}={number} must be at least {low}")
    return number


def _bool(values: Mapping[str, str], name: str, default: bool) -> bool:
    raw = values.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not true or false; use {name}=true or {name}=false")


def _ids(values: Mapping[str, str], name: str) -> frozenset[int]:
    raw = values.get(name, "").strip()
    if not raw:
        return frozenset()
    parts = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise SettingsError(
            f"{name}={raw!r} must be Discord ids separated by commas, e.g. {name}=123456789012345678,234567890123456789"
        )
    return frozenset(int(part) for part in parts)


def _log_level(values: Mapping[str, str]) -> str:
    level = values.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"LOG_LEVEL={level!r} is not a level; use DEBUG, INFO, WARNING or ERROR")
    return level
