"""The voice channel: TwiML wording for a spoken turn and the reminder calls' menus and outcomes.

May import ``plans`` and everything below it; the intake conversation itself lives
in ``intake``.
"""
