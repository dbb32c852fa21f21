"""The front desk: a client's conversation, the inbox, staff replies, today's sessions, session actions.

The top room of the core: may import every room below it; nothing in the core imports it.
"""
