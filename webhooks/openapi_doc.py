"""The OpenAPI 3.1 description of /api, its request bodies taken from the schemas/ files themselves."""

from __future__ import annotations

from glowline.store.models import MAX_ID, Channel, MessageKind, MessageStatus, SessionStatus

_ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
          "properties": {"error": {"type": "string"},
                         "field": {"type": "string", "description": "The field at fault, e.g. first_session_at"}}}
_MESSAGE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "plan_id": {"type": ["integer", "null"]}, "session": {"type": ["integer", "null"]},
    # The enums come from the store's own, so the document cannot drift from what the API returns.
    "kind": {"type": "string", "enum": [k.value for k in MessageKind]},
    "channel": {"type": "string", "enum": [c.value for c in Channel]},
    "status": {"type": "string", "enum": [s.value for s in MessageStatus],
               "description": "suppressed: came due while the client had opted out (or had no consent); "
                              "never sent late"},
    "due_at": {"type": "string", "format": "date-time"},
    "local_time": {"type": "string", "format": "date-time", "description": "due_at in the client's zone"},
    "not_after": {"type": ["string", "null"], "format": "date-time"},
    "attempts": {"type": "integer"}, "error": {"type": ["string", "null"]},
    "error_code": {"type": ["integer", "null"]}, "result": {"type": ["string", "null"]},
    "simulated": {"type": "boolean", "description": "true when the local transport recorded it instead of Twilio"},
    "retryable": {"type": "boolean", "description": "true when staff may retry it now "
                  "(failed, undelivered or skipped, and not past its useful time)"},
    "text": {"type": "string"},
    "sent_at": {"type": ["string", "null"], "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "client_id": {"type": ["integer", "null"]},
    "recipient": {"type": ["string", "null"], "description": "The client's first name, or \"staff phone\""},
    "sent_by": {"type": ["string", "null"], "description": "Who on staff wrote it (staff replies only)"}}}
_CONSENT = {"type": "object", "description": "The client's consent and opt-out state for this clinic", "properties": {
    "status": {"enum": ["given", "declined", "requested", "withdrawn", "none"]},
    "current": {"type": "boolean", "description": "true when automated messages may go to the client"},
    "at": {"type": ["string", "null"], "format": "date-time"},
    "method": {"type": ["string", "null"], "description": "how it was captured, e.g. sms_intake, sms_consent_request"},
    "wording": {"type": ["string", "null"], "description": "the exact words the client was shown"},
    "opted_out": {"type": "boolean"}, "opted_out_at": {"type": ["string", "null"], "format": "date-time"},
    "opted_out_by": {"type": ["string", "null"], "description": "the words (or carrier error) that opted them out"},
    "opted_out_method": {"type": ["string", "null"]}}}
_OPT_OUT = {"type": "object", "properties": {
    "client_id": {"type": "integer"}, "client_phone": {"type": "string"},
    "opted_out_at": {"type": "string", "format": "date-time"},
    "by": {"type": ["string", "null"]}, "method": {"type": ["string", "null"]}}}
_PLAN = {"type": "object", "properties": {
    "id": {"type": "integer"}, "intake_id": {"type": ["integer", "null"]}, "protocol": {"type": "string"},
    "client_opted_out": {"type": "boolean", "description": "true when nothing will reach the client until they text START"},
    "paused": {"type": ["string", "null"], "description": "e.g. \"paused: client opted out\"; null when messages go out"},
    "consent": {"$ref": "#/components/schemas/Consent"},
    "protocols_version": {"type": "string"}, "status": {"type": "string", "enum": ["active", "cancelled",
                                                                                    "completed"]},
    "version": {"type": "integer"}, "session_count": {"type": "integer"}, "interval_weeks": {"type": "integer"},
    "created_by": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
    "sessions": {"type": "array", "items": {"type": "object", "properties": {
        "number": {"type": "integer"}, "starts_at": {"type": "string", "format": "date-time"},
        "local_start": {"type": "string", "format": "date-time"}, "duration_minutes": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in SessionStatus]},
        "attendance_at": {"type": ["string", "null"], "format": "date-time",
                          "description": "when staff marked it attended or no-show"},
        "callback_requested_at": {"type": ["string", "null"], "format": "date-time",
                                  "description": "when the client asked to reschedule (reminders held since)"}}}},
    "completed_at": {"type": ["string", "null"], "format": "date-time",
                     "description": "when the last session's aftercare window ended"},
    "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}}}}
_INTAKE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "status": {"type": "string"}, "concern": {"type": ["string", "null"]},
    "flags": {"type": "array", "items": {"type": "string"}}, "channel": {"type": "string"},
    "client_phone": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
    "completed_at": {"type": ["string", "null"], "format": "date-time"},
    "waiting_for_plan": {"type": "boolean"}, "plan_id": {"type": ["integer", "null"]},
    "consent": {"$ref": "#/components/schemas/Consent"},
    "answers": {"type": "object", "description": "only on GET /api/intakes/{id}"}}}
_QUEUE = {"type": "object", "properties": {
    "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
    "overdue": {"type": "integer"}, "next_due_at": {"type": ["string", "null"], "format": "date-time"},
    "due_soon": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
    "sending": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
    "done_today": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
    "failed": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
    "health": {"type": "object", "properties": {
        "database": {"enum": ["up", "down"]}, "redis": {"enum": ["up", "down"]},
        "scheduler": {"enum": ["up", "down"]}, "workers": {"type": "integer"}, "spool": {"type": "integer"},
        "spool_dead": {"type": "integer"}, "status": {"enum": ["ok", "degraded"]}}},
    "window_hours": {"type": "integer"},
    "staff_notices": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
    "totals": {"type": "object", "additionalProperties": {"type": "integer"},
               "description": "How many rows each list has in all (each list shows one page)"},
    "pages": {"type": "object", "additionalProperties": {"type": "integer"}},
    "page_size": {"type": "integer"}}}
_CLIENT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "first_name": {"type": ["string", "null"]}, "phone": {"type": "string"},
    "phone_display": {"type": "string"}, "opted_out": {"type": "boolean"}}}
_ENTRY = {"type": "object", "properties": {
    "at": {"type": "string", "format": "date-time"}, "direction": {"enum": ["in", "out"]},
    "channel": {"enum": ["sms", "voice"]}, "body": {"type": "string"}, "status": {"type": ["string", "null"]},
    "kind": {"type": ["string", "null"]}, "sent_by": {"type": ["string", "null"]}, "result": {"type": ["string", "null"]},
    "message_id": {"type": ["integer", "null"]}, "inbound_id": {"type": ["integer", "null"]},
    "needs_attention": {"type": "boolean"}}}
_CLIENT_DETAIL = {"type": "object", "properties": {
    **_CLIENT["properties"], "opted_out_at": {"type": ["string", "null"], "format": "date-time"},
    "preferred_channel": {"type": "string"},
    "consent_events": {"type": "array", "items": {"type": "object", "required": ["action", "method", "at"], "properties": {
        "action": {"type": "string"}, "method": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}},
    "intakes": {"type": "array", "items": {"$ref": "#/components/schemas/Intake"}},
    "plans": {"type": "array", "items": {"type": "object", "required": ["id", "protocol", "status", "session_count"],
                                         "properties": {"id": {"type": "integer"}, "protocol": {"type": "string"},
                                                        "status": {"type": "string"}, "session_count": {"type": "integer"}}}},
    "next_session": {"type": ["object", "null"]},
    "conversation": {"type": "array", "items": {"$ref": "#/components/schemas/ConversationEntry"},
                     "description": "Every text and call both ways, oldest first"}}}
_INBOX_ITEM = {"type": "object", "properties": {
    "id": {"type": "integer"}, "client_id": {"type": ["integer", "null"]}, "client_name": {"type": ["string", "null"]},
    "client_phone": {"type": "string"}, "received_at": {"type": "string", "format": "date-time"},
    "channel": {"type": "string"}, "body": {"type": "string"}, "handled_as": {"type": ["string", "null"]},
    "client_opted_out": {"type": "boolean"}}}
_DAY_SESSION = {"type": "object", "properties": {
    "plan_id": {"type": "integer"}, "client_id": {"type": "integer"}, "client_name": {"type": ["string", "null"]},
    "client_phone": {"type": "string"}, "session": {"type": "integer"}, "sessions": {"type": "integer"},
    "starts_at": {"type": "string", "format": "date-time"}, "protocol": {"type": "string"},
    "confirmation": {"enum": ["confirmed", "waiting", "asked to reschedule", "call-back requested", "opted out",
                              "cancelled"]},
    "reminders": {"type": "array", "items": {"type": "object", "required": ["kind", "status", "at"], "properties": {
        "kind": {"type": "string"}, "status": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}}}}

_RATE = "a fraction from 0 to 1, or null when there was nothing to divide by"
_RESULTS = {"type": "object", "properties": {
    "clinic_id": {"type": "integer"}, "since": {"type": "string", "format": "date"},
    "until": {"type": "string", "format": "date"}, "protocol": {"type": ["string", "null"]},
    "period": {"enum": ["week", "month"]},
    "timezone": {"type": "string", "description": "the clinic's zone: days and weeks are its own"},
    "periods": {"type": "array", "items": {"type": "object", "required": ["key", "label", "start", "end"], "properties": {
        "key": {"type": "string", "description": "2026-10-05 (the week's Monday) or 2026-10"},
        "label": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"}}}},
    "totals": {"type": "object", "description": "Each periodic figure over the whole range (rebooking: one object per "
                                                "trigger); every *_rate is " + _RATE,
               "additionalProperties": {"type": "object"}},
    "figures": {"type": "object", "description": "Rows per figure: confirmations, no_shows, rebooking, opt_outs, delivery "
                                                 "and costs have one row per period (plus trigger for rebooking); plans, "
                                                 "cancellations, funnel, opt_outs_by_kind and failures cover the range. "
                                                 "Every *_rate is " + _RATE + "; estimated_cost_usd uses SMS_SEGMENT_PRICE",
                "additionalProperties": {"type": "array", "items": {"type": "object"}}}}}
_BATCH_RESULT = {"type": "object", "required": ["started", "refused"], "additionalProperties": False, "properties": {
    "started": {"type": "array", "items": {"type": "object", "required": ["index", "plan_id"], "properties": {
        "index": {"type": "integer", "description": "The item's position in `plans`, from 0"},
        "plan_id": {"type": "integer"}}}},
    "refused": {"type": "array", "items": {"type": "object", "required": ["index", "error", "status"], "properties": {
        "index": {"type": "integer", "description": "The item's position in `plans`, from 0"},
        "error": {"type": "string"}, "field": {"type": "string", "description": "The field at fault, e.g. consent"},
        "status": {"type": "integer", "enum": [400, 404, 409],
                   "description": "What POST /api/plans would have answered for this item alone"}}}}}}


_PHOTO = {"type": "object", "properties": {
    "id": {"type": "string", "description": "Opaque id (not guessable from another photo's)"},
    "status": {"enum": ["pending", "stored", "refused", "failed", "expired"]},
    "state": {"type": "string", "description": "The status in staff's words: why a photo was refused or failed"},
    "received_at": {"type": "string", "format": "date-time"},
    "intake_id": {"type": ["integer", "null"]},
    "content_type": {"type": ["string", "null"]}, "width": {"type": ["integer", "null"]},
    "height": {"type": ["integer", "null"]},
    "download_url": {"type": ["string", "null"], "description": "GET with the same bearer token (stored photos only)"},
    "thumbnail_url": {"type": ["string", "null"]}}}


def _required(schema: dict, *optional: str) -> dict:
    """The schema with every property required except ``optional`` ones: a client may count on them."""
    return {**schema, "required": [k for k in schema["properties"] if k not in optional]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    words = {400: "Invalid body or parameter; `field` names it", 401: "Missing or wrong bearer token",
             404: "Not found (or another clinic's)", 409: "Not allowed in the current state "
             "(`field: consent` when the client has no current consent)",
             429: "Too many bad tokens from this address: wait (see Retry-After)"}
    return {str(code): _json(_ref("Error"), words[code]) for code in codes}


def _op(summary: str, ok: tuple[str, dict, str], *, body: str | None = None, params: list | None = None,
        errors=(401,)) -> dict:
    code, schema, description = ok
    # Every operation checks the token, and too many bad tokens from one address are throttled.
    errors = tuple(errors) + ((429,) if 401 in errors and 429 not in errors else ())
    op = {"summary": summary, "responses": {code: _json(schema, description), **_errors(*errors)}}
    if body:
        op["requestBody"] = {"required": body not in ("api_plan_cancel", "api_session_action", "api_session_cancel"),
                             "content": {"application/json": {"schema": _ref(body)}}}
    if params:
        op["parameters"] = params
    return op


def _photo_op(summary: str) -> dict:
    image = {"schema": {"type": "string", "format": "binary"}}
    return {"summary": summary, "parameters": [{"name": "photo_id", "in": "path", "required": True,
                                                "description": "The photo's opaque id",
                                                "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}],
            "responses": {"200": {"description": "The image", "content": {t: image for t in (
                "image/jpeg", "image/png", "image/webp")}}, **_errors(401, 404, 429)}}


def _path_param(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


def build_document(schemas) -> dict:
    """The OpenAPI document; request body schemas are the very files the API validates with."""
    components = {"Error": _ERROR, "Message": _required(_MESSAGE), "Plan": _required(_PLAN),
                  "Intake": _required(_INTAKE, "answers"), "Queue": _required(_QUEUE),
                  "Client": _required(_CLIENT), "ClientDetail": _required(_CLIENT_DETAIL),
                  "ConversationEntry": _required(_ENTRY), "InboxItem": _required(_INBOX_ITEM),
                  "DaySession": _required(_DAY_SESSION), "Results": _required(_RESULTS), "Photo": _required(_PHOTO),
                  "Consent": _CONSENT, "OptOut": _OPT_OUT}
    for name in ("api_plan_create", "api_plan_batch", "api_session_move", "api_plan_cancel", "api_client_message",
                 "api_session_cancel", "api_session_action"):
        schema = {k: v for k, v in schemas[name].schema.items() if k not in ("$schema", "$id")}
        components[name] = schema
    query = schemas["api_messages_query"].schema["properties"]
    plan_id = _path_param("plan_id", "The plan's id")
    message_id = _path_param("message_id", "The message's id")
    list_of = lambda key, name: {"type": "object", "required": [key],  # noqa: E731
                                 "properties": {key: {"type": "array", "items": _ref(name)}}}
    page_of = lambda key, name: {"type": "object", "required": [key, "has_more", "next_cursor"],  # noqa: E731
                                 "properties": {key: {"type": "array", "items": _ref(name)},
                                                "has_more": {"type": "boolean"},
                                                "next_cursor": {"type": ["string", "null"],
                                                                "description": "Pass as cursor for the next page"}}}
    client_id = _path_param("client_id", "The client's id")
    inbound_id = _path_param("inbound_id", "The inbox text's id")
    limit = {"name": "limit", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{1,3}$"},
             "description": "Page size, 1 to 200 (larger is taken as 200)"}
    paths = {
        "/api/protocols": {"get": _op("Treatment protocols: session counts, intervals, aftercare",
                                      ("200", {"type": "object"}, "The protocol catalog"))},
        "/api/intakes": {"get": _op("The clinic's intakes, newest first", ("200", list_of("intakes", "Intake"), "Intakes"),
                                    params=[{"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                                                 "waiting", "in_progress", "complete", "needs_human", "planned",
                                                 "restarted"]},
                                             "description": "waiting (finished, no plan yet) or an intake status"}],
                                    errors=(400, 401))},
        "/api/intakes/{intake_id}": {"get": _op("One intake with its answers", ("200", _ref("Intake"), "The intake"),
                                                params=[_path_param("intake_id", "The intake's id")],
                                                errors=(401, 404))},
        "/api/plans": {"post": _op("Start a plan for a finished intake",
                                   ("201", _ref("Plan"), "The plan, its sessions and every scheduled message"),
                                   body="api_plan_create", errors=(400, 401, 404, 409))},
        "/api/plans:batch": {"post": _op(
            "Start many plans at once (up to 10,000): each item is a POST /api/plans body, checked on its own",
            ("200", _BATCH_RESULT, "Which items started (with their plan ids) and which were refused, by index"),
            body="api_plan_batch", errors=(400, 401))},
        "/api/plans/{plan_id}": {"get": _op("A plan with its sessions and messages", ("200", _ref("Plan"), "The plan"),
                                            params=[plan_id], errors=(401, 404))},
        "/api/plans/{plan_id}/sessions/{number}": {"patch": _op(
            "Move a session (and optionally every later one)", ("200", _ref("Plan"), "The plan after the move"),
            body="api_session_move", params=[plan_id, _path_param("number", "Session number, from 1")],
            errors=(400, 401, 404, 409))},
        "/api/plans/{plan_id}/sessions/{number}/{action}": {"post": _op(
            "Mark a session attended or no-show, or release a session held after the client replied R",
            ("200", _ref("Plan"), "The plan after the change"), body="api_session_action",
            params=[plan_id, _path_param("number", "Session number, from 1"),
                    {"name": "action", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": ["attended", "no-show", "release"]}}],
            errors=(400, 401, 404, 409))},
        "/api/plans/{plan_id}/cancel": {"post": _op("Cancel a plan and every pending message",
                                                    ("200", _ref("Plan"), "The cancelled plan"),
                                                    body="api_plan_cancel", params=[plan_id],
                                                    errors=(400, 401, 404, 409))},
        "/api/messages": {"get": _op("Outbox messages filtered by status, plan or due time",
                                     ("200", page_of("messages", "Message"), "Messages in due order, one page"),
                                     params=[{"name": k, "in": "query", "schema": v} for k, v in query.items()],
                                     errors=(400, 401, 404))},
        "/api/messages/{message_id}/retry": {"post": _op("Send a failed, undelivered or skipped message again now",
                                                         ("200", _ref("Message"), "The message, pending again"),
                                                         params=[message_id], errors=(401, 404, 409))},
        "/api/messages/{message_id}/cancel": {"post": _op("Cancel a pending or queued message",
                                                          ("200", _ref("Message"), "The cancelled message"),
                                                          params=[message_id], errors=(401, 404, 409))},
        "/api/opt-outs": {"get": _op("The clinic's clients who opted out, newest first, with what opted them out",
                                     ("200", list_of("opt_outs", "OptOut"), "Opted-out clients"))},
        "/api/clients": {"get": _op("The clinic's clients by first name or any part of a phone number, newest first",
                                    ("200", page_of("clients", "Client"), "Matching clients, one page"),
                                    params=[{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 80},
                                             "description": "jess, 555 0123, (212)..."}, limit,
                                            {"name": "cursor", "in": "query",
                                             "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                                             "description": "The next_cursor of the previous page"}],
                                    errors=(400, 401))},
        "/api/clients/{client_id}": {"get": _op("A client: consent, intakes, plans, next session and the conversation",
                                                ("200", _ref("ClientDetail"), "The client"),
                                                params=[client_id], errors=(401, 404))},
        "/api/clients/{client_id}/photos": {"get": _op(
            "The client's photos, newest first, with authenticated download links (each download is audited)",
            ("200", list_of("photos", "Photo"), "The photos"), params=[client_id], errors=(401, 404))},
        "/api/photos/{photo_id}": {"get": _photo_op("One stored photo (audited); Cache-Control: private, no-store")},
        "/api/photos/{photo_id}/thumbnail": {"get": _photo_op("A stored photo's thumbnail (JPEG)")},
        "/api/clients/{client_id}/messages": {"post": _op(
            "Text the client (through the outbox; refused to an opted-out client and, unless send=morning, in quiet hours)",
            ("201", _ref("Message"), "The queued text"), body="api_client_message", params=[client_id],
            errors=(400, 401, 404, 409))},
        "/api/inbox": {"get": _op("Texts that need a person, newest first",
                                  ("200", {"type": "object", "required": ["count", "items"], "properties": {
                                      "count": {"type": "integer"},
                                      "items": {"type": "array", "items": _ref("InboxItem")}}}, "The inbox"),
                                  params=[limit], errors=(400, 401))},
        "/api/inbox/{inbound_id}/done": {"post": _op("Mark an inbox text done", ("200", {
            "type": "object", "required": ["id", "done_at", "done_by"], "properties": {
                "id": {"type": "integer"}, "done_at": {"type": ["string", "null"], "format": "date-time"},
                "done_by": {"type": ["string", "null"]}}}, "Done"), params=[inbound_id], errors=(401, 404))},
        "/api/sessions": {"get": _op("Every session on a local day (today by default), with confirmation and reminders",
                                     ("200", {"type": "object", "required": ["date", "timezone", "sessions"], "properties": {
                                         "date": {"type": "string", "format": "date"}, "timezone": {"type": "string"},
                                         "sessions": {"type": "array", "items": _ref("DaySession")}}}, "The day"),
                                     params=[{"name": "date", "in": "query", "schema": {"type": "string", "format": "date"}},
                                             {"name": "not_confirmed", "in": "query",
                                              "schema": {"type": "string", "enum": ["true", "false"]}}],
                                     errors=(400, 401))},
        "/api/plans/{plan_id}/sessions/{number}/cancel": {"post": _op(
            "Cancel one session (optionally texting the client)", ("200", _ref("Plan"), "The plan after the cancel"),
            body="api_session_cancel", params=[plan_id, _path_param("number", "Session number, from 1")],
            errors=(400, 401, 404, 409))},
        "/api/results": {"get": _op(
            "The clinic's results: confirmations, no-shows, rebooking, plans, opt-outs, delivery and texting cost",
            ("200", _ref("Results"), "Every figure, per week or month and in total"),
            params=[{"name": "since", "in": "query", "schema": {"type": "string", "format": "date"},
                     "description": "First local day (default: 12 weeks, or 12 months, before until)"},
                    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"},
                     "description": "Last local day, included (default: today)"},
                    {"name": "protocol", "in": "query", "schema": {"type": "string", "maxLength": 64},
                     "description": "Only this protocol's plans and their messages"},
                    {"name": "period", "in": "query", "schema": {"type": "string", "enum": ["week", "month"]}}],
            errors=(400, 401))},
        "/api/queue": {"get": _op("Counts by status, next due, failures, worker and scheduler heartbeat",
                                  ("200", _ref("Queue"), "The queue"))},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Glowline clinic API", "version": "1",
                 "description": "Every request needs `Authorization: Bearer <token>` (glowline token create). "
                                "Objects of other clinics answer 404. Errors are JSON with `error` and `field`."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": components},
        "paths": paths,
    }
