"""Consent and opt-out: the keywords, the consent record, quiet hours and who may be messaged.

May import ``store``, ``clinics`` and ``messages``; the delivery, plans and intake
rooms ask it before they act, never the other way round.
"""
