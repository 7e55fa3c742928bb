"""The README opens with the two set-up commands, and CI runs the second verbatim."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    serve, tests = blocks[0].strip(), blocks[1].strip()
    assert serve.endswith("workbench serve") and "pip install torch==2.13.0" in serve
    assert tests.endswith("python -m pytest") and "chromium" in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, ".ci/run must call the README's test command verbatim"
    # nothing but prose stands before the two commands
    head = readme[: readme.index(blocks[1])]
    assert head.count("```bash") == 2
