"""Entry point of the one-folder bundle (``dist/Earmark/Earmark``).

``Earmark [APP OPTIONS]`` starts the desktop app exactly as ``main.py`` does;
``Earmark --cli COMMAND ...`` runs the ``earmark`` command instead (one executable serves both,
so the bundle carries torch once). Both are imported by plain statements so PyInstaller sees
every module they need.
"""

from __future__ import annotations

import importlib.util
import sys


def main(argv: list[str]) -> int:
    """Run the CLI when the first argument is ``--cli``, else the app."""
    if argv[:1] == ["--cli"]:
        from desktop.cli import build_parser
        from desktop.cli import main as cli_main

        # The evaluation's metrics packages (the eval extra) are left out of the bundle: say so
        # before captioning a whole dataset, not with an import error after it.
        command = build_parser().parse_known_args(argv[1:])[0].command
        if command == "eval" and importlib.util.find_spec("aac_metrics") is None:
            print(
                "earmark: error: 'eval' is not part of the Earmark bundle (its metrics packages "
                "are left out); install Earmark with pip and the eval extra for evaluation: "
                "pip install 'earmark[eval]'",
                file=sys.stderr,
            )
            return 2
        return cli_main(argv[1:])
    from desktop.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
