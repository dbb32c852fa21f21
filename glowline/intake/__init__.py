"""The intake: the questionnaire, the conversation engine, answer parsing, the staff notice, and the inbound router.

The router is the top of the core: every inbound text or call step enters here and
is handed to keywords, staff commands, the intake or a plan reply. May import every
other room.
"""
