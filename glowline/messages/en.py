"""English: every client-facing sentence and the date and time patterns clients read.

Keys are ``area.what`` (``area.what.voice`` when a caller hears it differently); values
are ``str.format`` templates whose ``{names}`` the caller fills. Patterns are Babel/CLDR
date patterns (https://babel.pocoo.org/en/latest/dates.html#date-fields). A new language
is a copy of this module with the same keys, registered in ``glowline.messages.catalog``.
"""

from __future__ import annotations

PATTERNS: dict[str, str] = {
    "date": "EEE MMM d",  # Thu Dec 5
    "date_year": "EEE MMM d y",  # Thu Dec 5 2026
    "month": "MMM y",  # Dec 2026
    "time": "h:mm a",  # 10:00 AM
    "spoken_date": "EEEE, MMMM d",  # Thursday, December 5
    "spoken_time": "h a",  # 10 AM (a voice does not say "o'clock" zeros)
    "spoken_time_minutes": "h:mm a",  # 2:30 PM
}

TEXTS: dict[str, str] = {
    # -- dates put together ------------------------------------------------------------------
    "moment": "{date}, {time}",
    "moment.at": "{date} at {time}",

    # -- per-clinic message templates (the clinic may override each; see messages.templates) --
    # Minimum necessary: clinic, date, time, what to do and a call-back number. No condition or
    # treatment names; a clinic that wants more writes its own template.
    "template.reminder_confirm": (
        "{clinic}: reminder of your appointment on {date} at {time}. Please arrive 15 minutes early "
        "so the numbing cream has time to work. Reply C to confirm or R to reschedule. "
        "Questions? Call {phone}."
    ),
    "template.reminder": (
        "{clinic}: see you on {date} at {time}. Please arrive 15 minutes early. "
        "Need to change it? Call {phone}."
    ),
    "template.aftercare": (
        "{clinic}: thank you for coming in. For {duration} (until {until}) please avoid what this page "
        "lists: {link} Questions? Call {phone}."
    ),
    "template.aftercare_end": (
        "{clinic}: your aftercare period ended {until}. You can return to your usual routine. "
        "Questions? Call {phone}."
    ),
    "template.booking_nudge": (
        "{clinic}: your next appointment is planned for {date} at {time}. Reply C to confirm or "
        "R to reschedule, or call {phone}."
    ),
    "template.plan_confirmation": (
        "{clinic}: your series of {total_sessions} appointments is booked. The first is on {date} "
        "at {time}. We will text you reminders before each visit. Reply C to confirm or R to "
        "reschedule. Call {phone} with questions. Reply STOP to opt out."
    ),
    "template.session_moved": (
        "{clinic}: your appointment has moved to {date} at {time}. Reply C to confirm or R to "
        "reschedule, or call {phone}."
    ),
    "template.sessions_moved": (
        "{clinic}: your appointment has moved to {date} at {time}, and your later appointments move "
        "with it; we will remind you before each. Reply C to confirm or R to reschedule, or call {phone}."
    ),
    "template.missed_session": (
        "{clinic}: we missed you at your appointment on {date} at {time}. We will call you to book a new "
        "time, or call us at {phone}."
    ),
    "template.missed_session_offer": (
        "{clinic}: we missed you at your appointment on {date} at {time}. Would another time suit you? "
        "{choices} Or call us at {phone}."
    ),
    "template.slot_offer": "{clinic}: would another time suit you? {choices} Or call us at {phone}.",
    # Sent when staff cancel one session from the desk and tick "text the client".
    "template.session_cancelled": (
        "{clinic}: your appointment on {date} at {time} is cancelled. To book another time, call {phone}."
    ),

    # -- consent keywords (STOP, START, HELP) -----------------------------------------------------
    "consent.opt_out": ("{clinic}: you are unsubscribed and will get no more messages from {clinic}. "
                        "Reply START to resubscribe. To cancel or move an appointment instead, call us at {phone}."),
    "consent.request": ("{clinic}: may we send you automated texts and calls about your treatment "
                        "(appointment reminders and aftercare)? Reply YES to agree or NO to decline. "
                        "Msg & data rates may apply. Reply STOP anytime to stop."),
    "consent.request.given": ("{clinic}: thank you, you will get texts about your treatment. "
                              "Reply STOP anytime to stop, HELP for help."),
    "consent.request.declined": "No problem, {clinic} won't send you automated messages. To book, call us at {phone}.",
    "consent.confirm_stop": "Do you want to stop all messages from {clinic}? Reply STOP to confirm.",
    "consent.how_to_stop": ("{clinic}: to stop all messages from us, reply STOP. You can reply START later "
                            "to get them again."),
    "consent.appointment_cancel": ("{clinic}: thanks, we have passed your request about your appointment to our "
                                   "team. To cancel or move it now, call us at {phone}."),
    "consent.opt_in": "{clinic}: you are subscribed to messages again. Reply STOP to opt out, HELP for help.",
    "consent.help": ("{clinic}: treatment reminders and aftercare texts. Call us at {phone}. "
                     "Msg & data rates may apply. Reply STOP to opt out."),
    "consent.help.no_phone": ("{clinic}: treatment reminders and aftercare texts. "
                              "Msg & data rates may apply. Reply STOP to opt out."),

    # -- the inbound router ---------------------------------------------------------------------
    "inbox.received": "Thanks, we got your message. {clinic} will get back to you soon.",
    "inbox.received.restart": ("Thanks, we got your message. {clinic} will get back to you soon. "
                               "Reply RESTART to answer the questions again."),
    "language.set": "{clinic}: OK, we will write to you in English. Para español responda ES.",
    "intake.text_only": "Sorry, we can only read text here.",
    # Said while a text waits in the inbound spool (the database is down): no clinic name, it
    # cannot be looked up, and it promises nothing the replay might not do.
    "inbox.spooled": "Thanks, we got your message and will reply soon.",
    "staff.usage": "Staff commands: {usage}",

    # -- the intake conversation (the questions themselves are in schemas/intake.schema.json) ---
    "intake.welcome": "Hi from {clinic}!",
    "intake.restart": "OK, let's start over. {message}",
    "intake.revalidate": "Sorry, one more check.",
    "intake.miss": "Sorry, I didn't get that. {hint}",
    "intake.miss.after_no": "Sorry about that. {hint}",
    "intake.pick_one": "Please pick just one. {question}",
    # A refusal or "why?" to a free-text question: why the clinic asks, then the question again.
    "intake.why": "{why} {question}",
    "intake.why.default": "We ask so {clinic} can plan your treatment.",
    "intake.heard": "I heard '{heard}'. Is that right? Reply YES or NO.",
    "intake.heard.voice": "I heard '{heard}'. Is that right? Say yes or no.",
    "intake.name": ", {first_name}",
    "intake.complete": ("Thank you{name}! {clinic} has your answers and will text you soon to book "
                        "your first visit. Reply STOP to opt out."),
    # A caller cannot "reply STOP"; they hear how to stop on the reminder calls instead.
    "intake.complete.voice": ("Thank you{name}! {clinic} has your answers and will be in touch soon to book "
                              "your first visit."),
    "intake.declined": ("No problem{name}, we won't send you automated messages. To book, call "
                        "{clinic} at {phone}."),
    "intake.handed_over": "Thanks{name}. Someone from {clinic} will call you to finish up.",
    "question.yesno": "{prompt} Reply YES or NO.",
    "question.option": "{number} {label}",
    "question.choice": "{prompt}\n{options}\nReply with a number from 1 to {n}.",
    "question.choice.two": "{prompt}\n{options}\nReply 1 or 2.",
    "question.multi": "{prompt}\n{options}\nReply with one or more numbers, e.g. 1 or 1 2.",
    "question.yesno.voice": "{prompt} Say yes or no, or press 1 for yes and 2 for no.",
    "question.option.voice": "{number} for {label}",
    "question.choice.voice": "{prompt} Press or say {options}.",
    "question.multi.voice": "{prompt} Press or say {options}. You can say more than one.",
    "hint.yesno.voice": "Please say yes or no, or press 1 for yes and 2 for no.",
    "hint.choice.voice": "Please say the name, or press a number from 1 to {n}.",
    "hint.choice.two.voice": "Please say the name, or press 1 or 2.",
    "hint.multi.voice": "Please say one or more of the names, or press a number from 1 to {n}.",

    # -- replies to reminders (C / R) -----------------------------------------------------------
    "reply.confirmed": ("{clinic}: thank you, your appointment on {when} is confirmed. "
                        "Need to change it? Reply R or call {phone}."),
    "reply.nothing_to_confirm": ("{clinic}: we could not find an upcoming appointment to confirm. "
                                 "Please call {phone}."),
    "reply.reschedule": "{clinic}: thanks, we will call you to find a new time. You can also call us at {phone}.",
    "rebook.choice": "{n} for {when}",
    "rebook.choices": "Reply {choices}, or 0 and we'll call you.",
    "rebook.not_a_choice": "{clinic}: please reply with one of the numbers offered. {choices}",
    "rebook.taken": "{clinic}: sorry, that time was just taken. {choices}",
    "rebook.taken.none": ("{clinic}: sorry, that time was just taken and we have no other free time to offer. "
                          "We will call you to find one. You can also call us at {phone}."),
    "rebook.booked": ("{clinic}: you are booked for {when}. We will remind you before your visit. "
                      "Need to change it? Reply R or call {phone}."),

    # -- calls: the intake by phone and reminder calls -----------------------------------------
    # A foreign call-back number read aloud starts with its "+".
    "phone.plus.voice": "plus",
    "voice.no_input": "Sorry, we did not hear you. Please call again. Goodbye.",
    "voice.goodbye": "Goodbye.",
    "call.appointment_on": "appointment on {when}",
    "call.upcoming_appointment": "upcoming appointment",
    "call.intro.plan": "Hello, this is {clinic}. Your appointments are booked, and the first is on {when}.",
    "call.intro.reminder": "Hello, this is {clinic} with a reminder of your {what}.",
    "call.intro.visit": "Hello, this is {clinic} about your recent visit.",
    "call.missed": "Hello, this is {clinic}. We missed you at your {what}. Would another time suit you?",
    "call.menu": "Press 1 to confirm. Press 2 to ask us to call you back. Press 9 to stop reminders.",
    "call.menu.session": "Press 1 to confirm. Press 2 to ask us to call you back.",
    # Already confirmed: what the caller can still do (not "press 1 to confirm" again).
    "call.menu.session.confirmed": "To change it, press 2, and we will call you back.",
    "call.machine": "{intro} To confirm or change anything, please call us at {phone}. Goodbye.",
    "call.no_choice": "We did not hear a choice. To confirm or change it, please call us at {phone}. Goodbye.",
    "call.not_a_choice": "Sorry, that is not one of the choices. {menu}",
    "call.change_appointment": "To confirm or change your appointment, please call us at {phone}. Goodbye.",
    "call.change_your_appointment": "To change your appointment, please call us at {phone}. Goodbye.",
    "call.change_it": "To change it, please call us at {phone}. Goodbye.",
    "call.opted_out": ("You will get no more calls or texts from {clinic}. To start them again, call us at {phone}. "
                       "Goodbye."),
    "call.no_longer_booked": "This appointment is no longer booked. Please call us at {phone}. Goodbye.",
    "call.confirmed": "Thank you. Your {what} is confirmed. Goodbye.",
    "call.callback": "Thank you. Someone from the clinic will call you back. Goodbye.",
    "call.unavailable": "Sorry, we cannot take this call right now. Goodbye.",
    "call.unavailable.clinic": "Sorry, {clinic} cannot take this call right now. Goodbye.",
    # Said on a call while the database is down (the caller's language is out of reach: en, then es).
    "call.outage": "Sorry, we cannot take your call right now. Please try again in a few minutes. Goodbye.",
    "call.outage.answer": ("Sorry, we could not take your answer just now. The clinic will see it and contact you. "
                           "Goodbye."),
    # A caller whose number is withheld: we cannot text or call them back, so a person takes the call.
    # No number to call back and no clinic phone to put them through to: the intake, once they key one in.
    "call.withheld.ask": "Thank you for calling {clinic}. We cannot see your number.",
    "call.withheld.how": ("To answer a few questions by phone, please type the number we can call or text you on, "
                          "then press the pound key."),
    "call.withheld.invalid": "Sorry, that is not a phone number we can use.",
    "call.withheld.forward": "Thank you for calling {clinic}. Putting you through to the clinic, one moment.",
    "call.withheld.no_phone": ("Thank you for calling {clinic}. We cannot see your number, so we cannot call you back. "
                               "Please call again with your number shown, or send us a text. Goodbye."),
    # The number was keyed in, not shown: its owner confirms by text before any automated message.
    "call.keyed.confirm_by_text": ("We will text the number you typed, to check that it is yours. Reply yes to that "
                                   "text, and then we can send your reminders."),
    # A keyed-in number that is already a client's: nothing about them is said to a caller who may not be them.
    "call.keyed.known": ("Thank you for calling {clinic}. Someone from the clinic will call you back at that number "
                         "soon. Goodbye."),
    "call.next_session": "Hello, this is {clinic}. Your next appointment is on {when}. {menu}",
    "call.next_session.confirmed": "Hello, this is {clinic}. Your next appointment is on {when}. It is confirmed. {menu}",
    "call.answers_in": "Thank you for calling {clinic}. We have your answers, and someone will call you back soon.",
    "call.thanks": "Thank you for calling {clinic}. Goodbye.",
    "call.rebook.choice": "Press {n} for {when}",
    "call.rebook.offer": "{intro} {choices}. Or press 0 and we will call you back.",
    "call.rebook.booked": ("You are booked for {when}. We will remind you before your visit. To change it, "
                           "please call us at {phone}. Goodbye."),
    "call.rebook.lead": "Let us find you a new time.",
    "call.rebook.not_a_choice": "Sorry, that is not one of the choices.",
    "call.rebook.taken": "Sorry, that time was just taken.",
    "call.rebook.no_choice": "We did not hear a choice. We will call you back to find a new time. Goodbye.",
    "call.rebook.closed": "This offer is no longer open. Please call us at {phone}. Goodbye.",
    # The consent record of a keypad opt-out: what was pressed and the menu that offered it.
    "call.opt_out_record": "keypad 9 on a reminder call: {menu}",

    # -- the client's time zone (issue 16): asked once when the number's area is in another zone -----
    "zone.question": "One more thing: are you in {zone_long}? Reply YES, or tell us your city, e.g. Honolulu.",
    "zone.question.voice": "One more thing: are you in {zone_long}? Say yes, or say the city you are in.",
    "zone.hint": "Please reply YES, or the city and state you are in, e.g. Honolulu HI.",
    "zone.city": "Which city are you in? We use it to send your reminders at the right time for you.",
    "zone.set": "Thanks, we will time your texts for {zone_long}.",
    # A session keeps the clinic's clock (the visit is there); the zone is named when the client's differs.
    "time.zoned": "{time} {zone}",
    "moment.zoned.voice": "{when}, {zone_long}",
    # -- photos (issue 18) ---------------------------------------------------------------------
    "photo.thanks": "Thank you for the photo!",
    "photo.received": "Thank you, {clinic} got your photo. Your clinician will see it before your visit.",
    "photo.refused.not_a_photo": ("{clinic}: sorry, we can only receive photos (JPEG, PNG, HEIC or WebP), so we could "
                                  "not keep the file you sent. You are welcome to send a photo instead."),
    "photo.refused.too_large": ("{clinic}: sorry, that photo is too large for us to receive (over 5 MB). Could you "
                                "send a smaller one?"),
    # The public aftercare page the aftercare text links to (a web page, not a text: no segment budget).
    "page.aftercare.title": "Your aftercare",
    "page.aftercare.lead": "For {duration} after your visit, please avoid:",
    "page.aftercare.questions": "Questions or worries? Call the clinic that treated you.",
    "page.aftercare.not_found": "This aftercare page does not exist. Please check the link in your text.",
}
