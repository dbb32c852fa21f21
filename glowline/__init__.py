"""Glowline: the shared domain of the clinic intake and reminder pipeline.

This package holds what both the web side (``webhooks``) and the job side
(``workers``) need: configuration, the store, protocols, plan timelines, the
intake conversation, compliance rules and the message transports. It imports
neither of them.
"""
