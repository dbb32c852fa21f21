"""Clinic results: confirmations, no-shows, rebooking, plan completion, opt-outs, delivery and cost, per period.

Every figure is an SQL aggregate over the records the pipeline already keeps (sessions, the
outbox, consent and audit events), so nothing here can drift from what happened. Read-only:
nothing here changes a row. May import ``store``, ``catalog``, ``clinics``, ``messages`` and
``transports`` (for Twilio's error words); only the web side and the command line import it.
"""
