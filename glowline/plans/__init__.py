"""Treatment plans: timelines, the plan service, plan start, the PLAN-text parser, staff commands, replies, previews.

``plan_text`` reads a staff member's PLAN text into a checked request and touches no
database; ``start`` turns a finished intake into a plan, whichever way the request came in.

May import everything below it (``delivery``, ``compliance``, ``messages``,
``clinics``, ``catalog``, ``store``); never ``intake`` or ``voice``.
"""
