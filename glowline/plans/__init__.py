"""Treatment plans: timelines, the plan service, the PLAN-text parser, staff commands, client replies, previews.

May import everything below it (``delivery``, ``compliance``, ``messages``,
``clinics``, ``catalog``, ``store``); never ``intake`` or ``voice``.
"""
