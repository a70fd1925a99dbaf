"""The fixed words of the public survey pages in each survey language (the questions and
thank-you text are the marketer's own). English fills any gap."""

TEXT = {
    "en": {
        "hi": "Hi {name},",
        "optional": "(optional)",
        "send": "Send my answer",
        "low": "Not at all likely",
        "high": "Extremely likely",
        "note": "Your answer goes only to the team that sent this survey.",
        "thanks": "Thank you!",
        "already_title": "You have already answered this survey",
        "already_body": "We kept your first answer. Thank you for taking the time!",
        "expired_title": "This survey link has expired",
        "expired_body": "Personal survey links work for a limited time, and this one has run out. "
        "Thank you for opening it — no answer is needed.",
        "unknown_title": "We could not find this survey",
        "unknown_body": "The link may be incomplete or mistyped. Please open it again from the email you "
        "received, copying the whole address.",
    },
    "pt": {
        "hi": "Olá {name},",
        "optional": "(opcional)",
        "send": "Enviar a minha resposta",
        "low": "Nada provável",
        "high": "Extremamente provável",
        "note": "A sua resposta vai apenas para a equipa que enviou este inquérito.",
        "thanks": "Obrigado!",
        "already_title": "Já respondeu a este inquérito",
        "already_body": "Guardámos a sua primeira resposta. Obrigado pelo seu tempo!",
        "expired_title": "Este link do inquérito expirou",
        "expired_body": "Os links pessoais funcionam durante um tempo limitado e este já terminou. Obrigado!",
        "unknown_title": "Não encontrámos este inquérito",
        "unknown_body": "O link pode estar incompleto. Abra-o novamente a partir do email que recebeu.",
    },
    "lv": {
        "hi": "Sveiki, {name}!",
        "optional": "(nav obligāti)",
        "send": "Nosūtīt atbildi",
        "low": "Noteikti ne",
        "high": "Noteikti jā",
        "note": "Jūsu atbildi saņems tikai komanda, kas nosūtīja šo aptauju.",
        "thanks": "Paldies!",
        "already_title": "Jūs jau atbildējāt uz šo aptauju",
        "already_body": "Mēs saglabājām jūsu pirmo atbildi. Paldies par veltīto laiku!",
        "expired_title": "Šīs aptaujas saites derīgums ir beidzies",
        "expired_body": (
            "Personīgās saites ir derīgas ierobežotu laiku, un šīs saites laiks ir beidzies. Paldies!"
        ),
        "unknown_title": "Mēs neatradām šo aptauju",
        "unknown_body": "Saite var būt nepilnīga. Lūdzu, atveriet to vēlreiz no saņemtā e-pasta.",
    },
    "ja": {
        "hi": "{name} 様",
        "optional": "（任意）",
        "send": "回答を送信",
        "low": "まったく思わない",
        "high": "非常にそう思う",
        "note": "ご回答はこのアンケートを送信したチームにのみ届きます。",
        "thanks": "ありがとうございました！",
        "already_title": "このアンケートには回答済みです",
        "already_body": "最初のご回答を保存しました。お時間をいただきありがとうございました。",
        "expired_title": "このアンケートのリンクは有効期限切れです",
        "expired_body": "個人用リンクの有効期限が過ぎました。開いていただきありがとうございました。",
        "unknown_title": "アンケートが見つかりません",
        "unknown_body": "リンクが不完全な可能性があります。受信したメールからもう一度開いてください。",
    },
    "da": {
        "hi": "Hej {name},",
        "optional": "(valgfrit)",
        "send": "Send mit svar",
        "low": "Slet ikke sandsynligt",
        "high": "Meget sandsynligt",
        "note": "Dit svar går kun til det team, der sendte denne undersøgelse.",
        "thanks": "Tak!",
        "already_title": "Du har allerede svaret på denne undersøgelse",
        "already_body": "Vi har gemt dit første svar. Tak for din tid!",
        "expired_title": "Linket til undersøgelsen er udløbet",
        "expired_body": (
            "Personlige links virker i en begrænset periode, og dette er udløbet. Tak fordi du kiggede!"
        ),
        "unknown_title": "Vi kunne ikke finde denne undersøgelse",
        "unknown_body": "Linket kan være ufuldstændigt. Åbn det igen fra den e-mail, du modtog.",
    },
}


def texts(language: str | None) -> dict[str, str]:
    return {**TEXT["en"], **TEXT.get(language or "en", {})}
