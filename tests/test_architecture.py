"""The layers point one way, down: sessions (schedule, login, join) < chat_embed (Matrix) < console
(organisers' tools). A lower app never imports a higher one, and no module of the sessions app
imports another that imports it back."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sessions_files() -> list[Path]:
    return [p for p in (ROOT / "sessions").rglob("*.py") if "migrations" not in p.parts]


LAYERS = ("sessions", "chat_embed", "console")  # lowest first


def _upward_imports(app: str) -> list[str]:
    above = LAYERS[LAYERS.index(app) + 1 :]
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for name in sorted(_imports(path))
        if name.split(".")[0] in above
    ]


@pytest.mark.parametrize("app", LAYERS[:-1])
def test_no_app_imports_one_above_it(app):
    assert _upward_imports(app) == []


def test_the_layer_scan_sees_the_imports_it_forbids():
    # The console imports both apps below it: the scan would see an upward import the same way.
    found = {name.split(".")[0] for path in (ROOT / "console").rglob("*.py") for name in _imports(path)}
    assert {"sessions", "chat_embed"} <= found


def test_no_import_cycle_inside_the_sessions_app():
    modules = {_module(path): path for path in _sessions_files()}
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        for target in sorted(graph[node]):
            if target in trail:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in done:
                visit(target, [*trail, target])
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert cycles == []
    # The scan sees the modules that used to point at each other (a path typo would pass vacuously).
    assert {"sessions.accounts", "sessions.directory", "sessions.meetings"} <= set(graph)
    assert "sessions.accounts" in graph["sessions.directory"]


def test_the_chat_app_provides_the_chat_address_to_sessions(db, settings):
    from chat_embed.handoff import bbb_chat_url
    from sessions import chat_link

    assert chat_link._provider is bbb_chat_url  # registered by ChatEmbedConfig.ready


def test_each_of_our_commands_has_one_home():
    """Django takes a command name from the first app in INSTALLED_APPS that has it, silently: a copy
    left behind in a lower app (import_schedule moved from sessions to the console) would win."""
    from django.apps import apps
    from django.core.management import find_commands, get_commands

    homes: dict[str, list[str]] = {}
    for config in apps.get_app_configs():
        if Path(config.path).resolve().parent == ROOT:  # our apps, not packages in a .venv here
            for name in find_commands(str(Path(config.path) / "management")):
                homes.setdefault(name, []).append(config.name)
    assert {name: found for name, found in homes.items() if len(found) > 1} == {}
    assert get_commands()["import_schedule"] == "console"
    assert get_commands()["import_attendees"] == "sessions"
