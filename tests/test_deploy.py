"""What a fresh install and the container rely on: declared dependencies and a numeric container user."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_modules(folder: Path) -> set[str]:
    """The top-level names of every module the code under `folder` imports (relative imports aside)."""
    names: set[str] = set()
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def declared_distributions() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in project["dependencies"]}


def test_every_package_the_bot_imports_is_a_declared_dependency() -> None:
    third_party = imported_modules(REPO / "bot") - set(sys.stdlib_module_names) - {"bot", "__future__"}
    assert {"discord", "aiohttp", "yarl", "numpy"} <= third_party
    providers = packages_distributions()
    undeclared = {
        module: providers.get(module) for module in third_party
        if not {name.lower() for name in providers.get(module, [module])} & declared_distributions()
    }
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"


def test_the_container_runs_as_a_numeric_uid_and_gid_that_exist_in_the_image() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user == ["10001:10001"]
    assert "groupadd --system --gid 10001 corpusbot" in dockerfile
    assert "useradd --system --uid 10001 --gid 10001" in dockerfile
