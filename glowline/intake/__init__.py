"""The intake: the questionnaire, the conversation engine, answer parsing, the staff notice, and the inbound router.

The router is the top of the core: every inbound text enters ``router.handle_text`` and
goes down an ordered chain of handlers (``handlers``: keywords, opted-out, staff commands,
the intake, a plan reply, the inbox, a new intake), each sharing one ``inbound.Inbound``
and answering with replies or "not mine". May import every other room.
"""
