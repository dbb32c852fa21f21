"""``python -m webhooks`` is the ``glowline`` command."""

from webhooks.cli import main

main()
