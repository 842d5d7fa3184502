"""A markdown table of measurements, one column per corpus, with targets marked met (✓) or missed (✗)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One measurement: how to read it from a column's results, and its ceiling at some sizes."""

    label: str
    value: Callable[[dict], object]
    format: str = "{}"
    targets: dict[int, float] = field(default_factory=dict)
    target_text: str = ""

    def cell(self, results: dict | None, size: int | None) -> str:
        try:
            value = self.value(results) if results is not None else "failed"
        except (KeyError, TypeError):
            value = "failed"
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        text = self.format.format(value)
        if size in self.targets:
            text += " ✓" if value <= self.targets[size] else " ✗"
        return text

    def target(self) -> str:
        return self.target_text or ", ".join(f"≤ {limit:g} at {label(size)}" for size, limit in self.targets.items())


@dataclass(frozen=True)
class Column:
    label: str
    results: dict | None
    size: int | None = None


def render(rows: list[Row], columns: list[Column]) -> str:
    header = ["", *(c.label for c in columns), "target"]
    lines = [header, ["---"] * len(header)]
    lines += [[row.label, *(row.cell(c.results, c.size) for c in columns), row.target()] for row in rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def label(size: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)
