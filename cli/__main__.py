"""``python -m cli`` is the ``glowline`` command."""

from cli.main import main

main()
