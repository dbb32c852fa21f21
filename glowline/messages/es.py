"""Spanish (US): every client-facing sentence and the date and time patterns clients read.

The same keys as ``glowline.messages.en``. Usted throughout, as a clinic writes to a client.
Encoding: é ñ ü ¿ ¡ are in GSM-7 but á í ó ú are not, so a text with one of them goes as UCS-2
(70 characters a segment). Where a wording without them is just as natural it is preferred
(the reminders, nudges and confirmations stay GSM-7); the rest is written as Spanish is written,
never with accents dropped. Times are joined with a comma ("jue 3 dic, 1:00 p. m.") because
"a las" would be wrong before one o'clock ("a la 1"), and no sentence ends on a time, whose
"p. m." would take a second full stop.
"""

from __future__ import annotations

PATTERNS: dict[str, str] = {
    "date": "EEE d MMM",  # jue 3 dic
    "date_year": "EEE d MMM y",  # jue 3 dic 2026
    "month": "MMM y",  # dic 2026
    "time": "h:mm a",  # 10:00 a. m.
    "spoken_date": "EEEE d 'de' MMMM",  # jueves 3 de diciembre
    # Spoken: the day period in words ("de la mañana"), as people say it; "10 a. m." is read out letter by
    # letter and leaves a double stop at the end of a sentence ("a las 10 a. m..").
    "spoken_time": "h B",  # 10 de la mañana
    "spoken_time_minutes": "h:mm B",  # 2:30 de la tarde
}

TEXTS: dict[str, str] = {
    # -- dates put together ------------------------------------------------------------------
    "moment": "{date}, {time}",
    "moment.at": "{date}, {time}",

    # -- per-clinic message templates ----------------------------------------------------------
    "template.reminder_confirm": (
        "{clinic}: le recordamos su cita del {date}, {time} (llegue 15 minutos antes para que la "
        "crema anestésica haga efecto). Responda C para confirmar o R para cambiarla. ¿Preguntas? Llame al {phone}."
    ),
    "template.reminder": (
        "{clinic}: le esperamos el {date}, {time} (llegue 15 minutos antes). "
        "¿Necesita cambiar la cita? Llame al {phone}."
    ),
    "template.aftercare": (
        "{clinic}: gracias por venir. Durante {duration} (hasta el {until}) evite lo que se indica "
        "en este enlace: {link} ¿Preguntas? Llame al {phone}."
    ),
    "template.aftercare_end": (
        "{clinic}: su periodo de cuidados posteriores ha terminado ({until}). Ya puede volver a su "
        "rutina habitual. ¿Preguntas? Llame al {phone}."
    ),
    "template.booking_nudge": (
        "{clinic}: tenemos prevista su siguiente cita para el {date}, {time}; responda C para "
        "confirmar o R para cambiarla, o llame al {phone}."
    ),
    "template.plan_confirmation": (
        "{clinic}: su serie de {total_sessions} citas ha quedado reservada. La primera es el {date}, "
        "{time}, y le enviaremos recordatorios antes de cada visita. Responda C para confirmar o R para "
        "cambiarla. Llame al {phone} si tiene preguntas. Responda ALTO para darse de baja."
    ),
    "template.session_moved": (
        "{clinic}: su cita ha cambiado al {date}, {time}; responda C para confirmar o R para cambiarla, "
        "o llame al {phone}."
    ),
    "template.sessions_moved": (
        "{clinic}: su cita ha cambiado al {date}, {time}, y sus siguientes citas cambian con ella; le "
        "recordaremos cada una. Responda C para confirmar o R para cambiarla, o llame al {phone}."
    ),
    "template.missed_session": (
        "{clinic}: notamos que no pudo venir a su cita del {date}, {time}. Le llamaremos para buscar una "
        "nueva hora, o llame al {phone}."
    ),
    "template.missed_session_offer": (
        "{clinic}: notamos que no pudo venir a su cita del {date}, {time}. ¿Le va bien otra hora? "
        "{choices} O llame al {phone}."
    ),
    "template.slot_offer": "{clinic}: ¿le va bien otra hora? {choices} O llame al {phone}.",
    # Sent when staff cancel one session from the desk and tick "text the client".
    "template.session_cancelled": (
        "{clinic}: su cita del {date}, {time} queda cancelada. Para reservar otra hora, llame al {phone}."
    ),

    # -- consent keywords (ALTO/STOP, START, AYUDA/HELP) ------------------------------------------
    "consent.opt_out": ("{clinic}: se ha dado de baja y no recibirá más mensajes nuestros. "
                        "Responda START para volver a suscribirse."),
    "consent.opt_in": ("{clinic}: ha vuelto a suscribirse a nuestros mensajes. Responda ALTO para darse "
                       "de baja o AYUDA si necesita ayuda."),
    "consent.help": ("{clinic}: recordatorios de tratamiento y cuidados posteriores. Llame al {phone}. "
                     "Pueden aplicarse tarifas de mensajes y datos. Responda ALTO para darse de baja."),
    "consent.help.no_phone": ("{clinic}: recordatorios de tratamiento y cuidados posteriores. "
                              "Pueden aplicarse tarifas de mensajes y datos. Responda ALTO para darse de baja."),

    "consent.appointment_cancel": ("{clinic}: gracias, hemos pasado su solicitud sobre su cita a nuestro equipo. "
                                   "Para cancelarla o cambiarla ahora, llame al {phone}."),
    "consent.confirm_stop": "¿Quiere dejar de recibir todos los mensajes de {clinic}? Responda ALTO para confirmar.",
    "consent.how_to_stop": ("{clinic}: para dejar de recibir nuestros mensajes, responda ALTO. Puede responder "
                            "START más adelante para volver a recibirlos."),
    "consent.request": ("{clinic}: ¿podemos enviarle mensajes y llamadas automáticos sobre su tratamiento "
                        "(recordatorios de citas y cuidados posteriores)? Responda SÍ para aceptar o NO para "
                        "rechazar. Pueden aplicarse tarifas de mensajes y datos. Responda ALTO en cualquier "
                        "momento para darse de baja."),
    "consent.request.declined": ("No hay problema, {clinic} no le enviará mensajes automáticos. Para reservar, "
                                 "llame al {phone}."),
    "consent.request.given": ("{clinic}: gracias, recibirá mensajes sobre su tratamiento. Responda ALTO en "
                              "cualquier momento para darse de baja o AYUDA si necesita ayuda."),

    # -- the inbound router ---------------------------------------------------------------------
    "inbox.received": "Gracias, recibimos su mensaje. {clinic} le responderá pronto.",
    # Mientras el texto espera en la cola de entrada (la base de datos no responde): sin nombre de clínica.
    "inbox.spooled": "Gracias, recibimos su mensaje y le responderemos pronto.",
    "inbox.received.restart": ("Gracias, recibimos su mensaje. {clinic} le responderá pronto. "
                               "Responda REINICIAR para contestar las preguntas de nuevo."),
    "language.set": "{clinic}: de acuerdo, le escribiremos en español. For English reply EN.",
    "intake.text_only": "Lo sentimos, solo podemos leer mensajes de texto.",
    "staff.usage": "Comandos del personal: {usage}",

    # -- the intake conversation ----------------------------------------------------------------
    "intake.welcome": "¡Hola! Le escribe {clinic}.",
    "intake.restart": "De acuerdo, empecemos de nuevo. {message}",
    "intake.revalidate": "Disculpe, necesitamos revisar una respuesta.",
    "intake.miss": "Disculpe, no entendimos su respuesta. {hint}",
    "intake.miss.after_no": "Disculpe. {hint}",
    "intake.heard": "Entendimos '{heard}'. ¿Es correcto? Responda SÍ o NO.",
    "intake.heard.voice": "Entendí '{heard}'. ¿Es correcto? Diga sí o no.",
    "intake.why": "{why} {question}",
    "intake.why.default": "Se lo preguntamos para planificar bien su tratamiento.",
    "intake.name": ", {first_name}",
    "intake.complete": ("¡Gracias{name}! {clinic} ya tiene sus respuestas y le escribirá pronto para reservar "
                        "su primera visita. Responda ALTO para darse de baja."),
    "intake.complete.voice": ("¡Gracias{name}! {clinic} ya tiene sus respuestas y se pondrá en contacto con usted "
                              "pronto para reservar su primera visita."),
    "intake.declined": ("No hay problema{name}, no le enviaremos mensajes automáticos. Para reservar, llame a "
                        "{clinic} al {phone}."),
    "intake.handed_over": "Gracias{name}. Una persona de {clinic} le llamará para terminar.",
    "question.yesno": "{prompt} Responda SÍ o NO.",
    "question.option": "{number} {label}",
    "question.choice": "{prompt}\n{options}\nResponda con un número del 1 al {n}.",
    "question.multi": "{prompt}\n{options}\nResponda con uno o varios números, p. ej. 1 o 1 2.",
    "question.yesno.voice": "{prompt} Diga sí o no, o marque 1 para sí y 2 para no.",
    "question.option.voice": "{number} para {label}",
    "question.choice.voice": "{prompt} Marque o diga {options}.",
    "question.multi.voice": "{prompt} Marque o diga {options}. Puede decir más de una.",
    "question.choice.two": "{prompt}\n{options}\nResponda 1 o 2.",
    "hint.choice.two.voice": "Por favor, diga el nombre o marque 1 o 2.",
    "intake.pick_one": "Por favor, elija solo una. {question}",
    "hint.yesno.voice": "Por favor, diga sí o no, o marque 1 para sí y 2 para no.",
    "hint.choice.voice": "Por favor, diga el nombre o marque un número del 1 al {n}.",
    "hint.multi.voice": "Por favor, diga uno o varios de los nombres, o marque un número del 1 al {n}.",

    # -- replies to reminders (C / R) -----------------------------------------------------------
    "reply.confirmed": ("{clinic}: gracias, su cita del {when} queda confirmada. "
                        "¿Necesita cambiarla? Responda R o llame al {phone}."),
    "reply.nothing_to_confirm": ("{clinic}: no encontramos ninguna cita pendiente que confirmar. "
                                 "Llame al {phone}, por favor."),
    "reply.reschedule": ("{clinic}: gracias, le llamaremos para buscar una nueva hora. "
                         "También puede llamarnos al {phone}."),

    # -- rebooking: offered times --------------------------------------------------------------
    "rebook.choice": "{n} para el {when}",
    "rebook.choices": "Responda {choices}, o 0 y le llamaremos.",
    "rebook.not_a_choice": "{clinic}: responda con uno de los números ofrecidos, por favor. {choices}",
    "rebook.taken": "{clinic}: lo sentimos, esa hora se acaba de ocupar. {choices}",
    "rebook.taken.none": ("{clinic}: lo sentimos, esa hora se acaba de ocupar y no tenemos otra libre. "
                          "Le llamaremos para buscar una. También puede llamarnos al {phone}."),
    "rebook.booked": ("{clinic}: su cita queda reservada para el {when}. Le enviaremos un recordatorio antes "
                      "de su visita. ¿Necesita cambiarla? Responda R o llame al {phone}."),

    # -- calls ----------------------------------------------------------------------------------
    # A foreign call-back number read aloud starts with its "+".
    "phone.plus.voice": "más",
    "voice.no_input": "Disculpe, no le oímos. Por favor, vuelva a llamar. Adiós.",
    "voice.goodbye": "Adiós.",
    "call.appointment_on": "cita del {when}",
    "call.upcoming_appointment": "próxima cita",
    "call.intro.plan": "Hola, le llama {clinic}. La primera de sus citas reservadas es el {when}, le esperamos.",
    "call.intro.reminder": "Hola, le llama {clinic} para recordarle su {what}.",
    "call.intro.visit": "Hola, le llama {clinic} sobre su visita reciente.",
    "call.menu": ("Marque 1 para confirmar. Marque 2 para que le llamemos. "
                  "Marque 9 para dejar de recibir recordatorios."),
    "call.menu.session": "Marque 1 para confirmar. Marque 2 para que le llamemos.",
    "call.menu.session.confirmed": "Para cambiarla, marque 2 y le llamaremos.",
    "call.machine": "{intro} Para confirmar o cambiar algo, llámenos al {phone}. Adiós.",
    "call.no_choice": "No oímos ninguna opción. Para confirmarla o cambiarla, llámenos al {phone}. Adiós.",
    "call.not_a_choice": "Disculpe, esa no es una de las opciones. {menu}",
    "call.change_appointment": "Para confirmar o cambiar su cita, llámenos al {phone}. Adiós.",
    "call.change_your_appointment": "Para cambiar su cita, llámenos al {phone}. Adiós.",
    "call.change_it": "Para cambiarla, llámenos al {phone}. Adiós.",
    "call.opted_out": ("No recibirá más recordatorios de {clinic}. Para volver a recibirlos, llámenos al {phone}. "
                       "Adiós."),
    "call.no_longer_booked": "Esta cita ya no está reservada. Llámenos al {phone}, por favor. Adiós.",
    "call.confirmed": "Gracias. Su {what} queda confirmada. Adiós.",
    "call.callback": "Gracias. Una persona de la clínica le devolverá la llamada. Adiós.",
    "call.unavailable": "Disculpe, ahora no podemos atender esta llamada. Adiós.",
    "call.unavailable.clinic": "Disculpe, {clinic} no puede atender esta llamada ahora. Adiós.",
    # Said on a call while the database is down (the caller's language is out of reach: en, then es).
    "call.outage": "Disculpe, ahora no podemos atender su llamada. Por favor, vuelva a llamar en unos minutos. Adiós.",
    "call.outage.answer": ("Disculpe, ahora no pudimos recibir su respuesta. La clínica la verá y se pondrá en "
                           "contacto con usted. Adiós."),
    "call.next_session": "Hola, le llama {clinic}. Su próxima cita es el {when}. {menu}",
    "call.next_session.confirmed": "Hola, le llama {clinic}. Su próxima cita es el {when} y está confirmada. {menu}",
    "call.answers_in": ("Gracias por llamar a {clinic}. Ya tenemos sus respuestas y una persona le devolverá "
                        "la llamada pronto."),
    "call.missed": "Hola, le llama {clinic}. Notamos que no pudo venir a su {what}. ¿Le va bien otra hora?",
    # No number to call back and no clinic phone to put them through to: the intake, once they key one in.
    "call.withheld.ask": "Gracias por llamar a {clinic}. No vemos su número.",
    "call.withheld.how": ("Para responder unas preguntas por teléfono, marque el número en el que podemos llamarle "
                          "o escribirle, y después la tecla numeral."),
    "call.withheld.invalid": "Disculpe, ese no es un número de teléfono que podamos usar.",
    "call.withheld.forward": "Gracias por llamar a {clinic}. Le pasamos con la clínica, un momento.",
    "call.withheld.no_phone": ("Gracias por llamar a {clinic}. No vemos su número, así que no podemos devolverle "
                               "la llamada. Vuelva a llamar con su número visible o envíenos un mensaje. Adiós."),
    "call.keyed.confirm_by_text": ("Enviaremos un mensaje al número que marcó, para comprobar que es suyo. Responda "
                                   "sí a ese mensaje y podremos enviarle sus recordatorios."),
    "call.keyed.known": ("Gracias por llamar a {clinic}. Una persona de la clínica le devolverá la llamada a ese "
                         "número pronto. Adiós."),
    "call.thanks": "Gracias por llamar a {clinic}. Adiós.",
    "call.rebook.choice": "Marque {n} para el {when}",
    "call.rebook.offer": "{intro} {choices}. O marque 0 y le llamaremos.",
    "call.rebook.booked": ("Su cita queda reservada para el {when}. Le enviaremos un recordatorio antes de su "
                           "visita. Para cambiarla, llámenos al {phone}. Adiós."),
    "call.rebook.lead": "Busquemos una nueva hora.",
    "call.rebook.not_a_choice": "Lo sentimos, esa no es una de las opciones.",
    "call.rebook.taken": "Lo sentimos, esa hora se acaba de ocupar.",
    "call.rebook.no_choice": "No escuchamos ninguna opción. Le llamaremos para buscar una nueva hora. Adiós.",
    "call.rebook.closed": "Esta oferta ya no está disponible. Llámenos al {phone}, por favor. Adiós.",
    "call.opt_out_record": "tecla 9 en una llamada de recordatorio: {menu}",

    # -- la zona horaria del cliente (issue 16) ----------------------------------------------------
    "zone.question": "Una cosa más: ¿está en la {zone_long}? Responda SÍ, o escriba su ciudad, por ejemplo Honolulu.",
    "zone.question.voice": "Una cosa más: ¿está usted en la {zone_long}? Diga sí, o diga la ciudad donde está.",
    "zone.hint": "Por favor, responda SÍ, o escriba la ciudad y el estado donde está, por ejemplo Miami FL.",
    "zone.city": "¿En qué ciudad está? La usamos para enviarle los recordatorios a la hora correcta para usted.",
    "zone.set": "Gracias, le enviaremos los mensajes según la {zone_long}.",
    "time.zoned": "{time} ({zone_long})",
    "moment.zoned.voice": "{when}, {zone_long}",
    # -- photos (issue 18) ---------------------------------------------------------------------
    "photo.thanks": "¡Gracias por la foto!",
    "photo.received": "Gracias, {clinic} recibió su foto. Su especialista la verá antes de su cita.",
    "photo.refused.not_a_photo": ("{clinic}: lo sentimos, solo podemos recibir fotos (JPEG, PNG, HEIC o WebP), así que "
                                  "no pudimos guardar el archivo que envió. Puede enviarnos una foto si lo desea."),
    "photo.refused.too_large": ("{clinic}: lo sentimos, esa foto es demasiado grande para recibirla (más de 5 MB). "
                                "¿Podría enviar una más pequeña?"),
    "page.aftercare.title": "Sus cuidados posteriores",
    "page.aftercare.lead": "Durante {duration} después de su visita, evite:",
    "page.aftercare.questions": "¿Preguntas o dudas? Llame a la clínica que le atendió.",
    "page.aftercare.not_found": "Esta página de cuidados no existe. Revise el enlace de su mensaje.",
}
