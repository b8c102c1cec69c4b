"""The layers point one way: chat_embed uses sessions, sessions never imports chat_embed, and no
module of the sessions app imports another that imports it back."""

import ast
from pathlib import Path

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


def test_sessions_never_imports_the_chat_app():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sessions_files()
        for name in sorted(_imports(path))
        if name == "chat_embed" or name.startswith("chat_embed.")
    ]
    assert offenders == []


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
