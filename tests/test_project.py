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
