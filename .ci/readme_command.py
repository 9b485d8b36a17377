"""Print the command in the first code block under a README heading, so that CI runs the
README's commands exactly as a reader would copy them.

    python .ci/readme_command.py "Install and run a study"
"""

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def command(heading: str) -> str:
    text = README.read_text()
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)^```[a-z]*\n(.*?)^```", text,
                      re.MULTILINE | re.DOTALL)
    if match is None or "\n## " in match.group(1):
        raise SystemExit(f"README.md has no code block under '## {heading}'")
    return match.group(2).strip()


if __name__ == "__main__":
    print(command(sys.argv[1]))
