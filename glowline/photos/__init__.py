"""Photos clients send by MMS: their storage, the checks and conversions, the download job's work, retention.

``storage`` is the one interface every web and worker machine reaches (the database, or an
S3-compatible bucket); ``images`` checks and converts bytes and touches nothing else;
``inbound`` records a text's media references; ``fetch`` downloads, converts, stores and
deletes them at Twilio; ``retention`` deletes expired ones; ``views`` is what staff see.

May import ``delivery`` (the kind reply to a refused photo goes through the outbox) and
everything below it; never ``plans``, ``intake``, ``voice`` or ``desk``.
"""
