"""The stop-classifier phrase tables, shared by the classifier tests and the end-to-end opt-out tests."""

# Every one of these revokes consent (the carrier keywords, phrases, spellings, emoji).
STOPS = [
    "STOP", "stop", "Stop.", "STOP!!!", "stop please", "please stop", "STOP NOW", "stopall", "STOP ALL", "stop all",
    "unsubscribe", "UNSUBSCRIBE ME", "cancel", "CANCEL", "end", "END.", "quit", "QUIT!", "revoke", "optout",
    "opt out", "opt-out", "Opt me out", "unsub", "stop it", "Stop it!", "stop this", "stop all texts",
    "stop texting me", "stop messaging me", "stop sending me these", "stop calling me", "stop the texts",
    "stop the messages please", "I want to unsubscribe", "i want to stop", "I'd like to unsubscribe",
    "please unsubscribe me from this list", "I revoke my consent", "i withdraw my consent",
    "I do not consent to these messages", "take me off", "take me off your list", "take my number off your list",
    "remove my number", "remove me", "remove me from your list", "delete my number", "please remove me",
    "don't text me again", "dont text me", "do not text me", "don't call me again", "never call me again",
    "do not contact me", "don't message me anymore", "no more texts", "no more messages please", "no more calls",
    "I don't want these texts", "i dont want any more messages", "leave me alone", "lose my number",
    "wrong number", "Wrong number, stop", "wrong person", "STOP STOP STOP", "stop stop", "s t o p", "S T O P",
    "S.T.O.P.", "stooop", "STOPPPP", "sttoopp", "🛑", "🛑🛑", "🛑 please", "⛔", "quit it", "quit texting me",
    "cancel my texts", "cancel these messages", "cancel my subscription", "end these messages",
    "no thanks, stop", "no, stop", "yes stop", "ok stop", "just stop", "omg stop", "can you stop texting me?",
    "could you please stop messaging me", "this is spam stop", "stop spamming me", "u n s u b s c r i b e",
    "opt out please", "I said stop", "cancel my appointment and stop texting me", "Please STOP sending texts",
]

NOT_STOPS = [
    "I can't stop by tomorrow", "I cant stop by tomorrow, can we move it?", "I'll stop in on Friday",
    "can I stop at the pharmacy first", "the redness won't stop", "will the redness stop?", "I can't stop itching",
    "did the peeling stop", "should I stop using retinol", "the bus stop is near you?", "yes", "no", "no thanks",
    "Maria", "see you at the end of the week", "the end of the street", "acne scars", "1", "C", "R", "START",
    "help", "cancelled my gym", "I love it, nonstop compliments", "where do I park", "it stopped hurting",
]

QUESTIONS = ["how do I unsubscribe?", "How do I unsubscribe", "how can I stop these texts?", "how to opt out",
             "what do I text to stop?", "can I unsubscribe later?", "is there a way to opt out?",
             "if I stop, will I still get my appointment?"]

APPOINTMENTS = ["cancel my appointment", "Cancel my appt please", "I need to cancel tomorrow",
                "can I cancel my session on friday", "cancel my 3pm", "I have to cancel my visit",
                "my appointment, cancel it please", "please cancel the booking for next week"]

PROBABLY = ["no more", "not interested", "Not interested.", "I'm not interested", "enough", "go away",
            "this is spam", "I'm done", "no longer interested"]
