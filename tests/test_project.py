"""Project hygiene: CI runs exactly the README's test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    ci_lines = [
        ln
        for ln in (ROOT / ".ci/run").read_text().splitlines()
        if ln and not ln.startswith(("#", "set ", "cd "))
    ]
    assert len(ci_lines) == 1
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```bash\n")
    assert ci_lines[0] == blocks[2].split("\n```")[0].strip()  # second command block
    assert "pytest" in ci_lines[0] and "lint-imports" in ci_lines[0]


def test_readme_opens_with_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("ColorStudio is")]
    assert head.count("```bash") == 2
    assert ".venv/bin/colorstudio" in head


def test_the_package_has_no_import_cycles():
    """No module imports, directly or through others, a module that imports it back (imports
    inside functions count too): grimp's graph, strongly connected components by Tarjan."""
    import grimp

    graph = grimp.build_graph("colorstudio")
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in graph.modules:
                continue
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert cycles == []


def test_identifiers_spell_color_one_way():
    """Identifiers say "color" (user-facing text, strings and comments may say "colour")."""
    import io
    import tokenize

    root = Path(__file__).resolve().parent.parent
    british = []
    for path in sorted((root / "colorstudio").rglob("*.py")) + sorted(
        (root / "tests").rglob("*.py")
    ):
        for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if token.type == tokenize.NAME and "colour" in token.string.lower():
                british.append(f"{path.relative_to(root)}:{token.start[0]} {token.string}")
    assert british == []


def test_nothing_prints_a_traceback_or_sets_up_its_own_logging():
    """A user never sees a traceback: logged ones go to the error log through the logging set
    up once by crash_log.configure_logging; nothing prints one or installs other handlers."""
    import ast

    offenders = []
    for path in sorted((ROOT / "colorstudio").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("print_exc", "print_exception"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "basicConfig":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} basicConfig")
    assert offenders == []
