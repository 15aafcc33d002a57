"""llmplan's command line, for running from the repository root (`python cli.py ...`) and for the tests.

The commands live in `optimizer/cli.py`, so that an installed llmplan puts no top-level module named `cli` in
site-packages (other packages ship one; the last installed would win). The installed `llmplan` command runs
`optimizer.cli:main`.
"""

from optimizer.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
