"""The store: SQLAlchemy models and the database engine and sessions.

Everything the product remembers is a row defined here: clinics, clients, intakes,
plans, sessions, the outbox and its events, consent and audit records. This is the
lowest room: it imports nothing from the rest of ``glowline`` but ``config``,
``clock`` and ``exceptions``.
"""
