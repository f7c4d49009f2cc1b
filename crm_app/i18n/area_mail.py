"""Strings of one product area (e-mail), in both languages. Merged into the catalogues by `crm_app.i18n`."""

PT_BR: dict[str, str] = {
    # E-mail templates ({placeholders} are filled in, escaped in the HTML part)
    "mail.footer": "Você recebeu este e-mail porque tem uma conta em {tenant} no {product}.",
    "mail.ignore": "Se não esperava este e-mail, pode ignorá-lo.",
    "mail.link_fallback": "Se o botão não funcionar, copie e cole este endereço no navegador:",
    "mail.invite.subject": "{inviter} convidou você para {tenant}",
    "mail.invite.title": "Você foi convidado para {tenant}",
    "mail.invite.body": "Olá, {name}! {inviter} criou uma conta para você no {product} de {tenant}. Escolha a sua "
                        "senha para entrar. O link vale por 72 horas e só pode ser usado uma vez.",
    "mail.invite.action": "Escolher minha senha",
    "mail.reset.subject": "Redefina a sua senha em {tenant}",
    "mail.reset.title": "Redefina a sua senha",
    "mail.reset.body": "Olá, {name}! Um administrador de {tenant} pediu uma nova senha para a sua conta; a senha "
                       "antiga já não funciona. O link vale por 72 horas e só pode ser usado uma vez.",
    "mail.reset.action": "Escolher nova senha",
    "mail.assigned.subject": "Conversa com {contact} atribuída a você",
    "mail.assigned.title": "Uma conversa foi atribuída a você",
    "mail.assigned.body": "Olá, {name}! Enquanto você estava ausente, a conversa com {contact} foi atribuída a "
                          "você em {tenant}.",
    "mail.assigned.action": "Abrir a conversa",
    "mail.assigned.optout": "Você recebe este aviso porque o ativou na sua conta. Desative em Minha conta.",
    "mail.notification.subject": "{title}",
    "mail.notification.action": "Abrir",
    "mail.test.subject": "E-mail de teste do {product}",
    "mail.test.title": "O envio de e-mails funciona",
    "mail.test.body": "Este é um e-mail de teste enviado por {sender} nas configurações de e-mail de {tenant}.",
    # The mail.* settings (registry labels and help)
    "setting.mail.smtp_host": "Servidor SMTP",
    "setting.mail.smtp_host.help": "Nome ou IP do servidor de envio, por exemplo smtp.seuprovedor.com.br.",
    "setting.mail.smtp_port": "Porta SMTP",
    "setting.mail.smtp_port.help": "Normalmente 587 (STARTTLS), 465 (TLS) ou 25.",
    "setting.mail.smtp_security": "Segurança da conexão",
    "setting.mail.smtp_security.help": "starttls (587), tls (465) ou none (sem criptografia: só em rede local).",
    "setting.mail.smtp_username": "Usuário SMTP",
    "setting.mail.smtp_username.help": "O login no servidor; em branco, envia sem login.",
    "setting.mail.smtp_password": "Senha SMTP",
    "setting.mail.smtp_password.help": "Guardada criptografada; nunca é mostrada de volta.",
    "setting.mail.from_address": "Remetente (e-mail)",
    "setting.mail.from_address.help": "O endereço que aparece em \"De\", por exemplo nao-responda@suaempresa.com.br.",
    "setting.mail.from_name": "Remetente (nome)",
    "setting.mail.from_name.help": "O nome que aparece em \"De\", por exemplo Pousada Sol.",
    # Invite and reset links (users page, platform tenants page)
    "mail.link.emailed": "Convite enviado por e-mail para {email}. Se não chegar, envie este link para {name}: ele "
                         "vale por 72 horas e só pode ser usado uma vez.",
    "mail.link.reset_emailed": "Link para nova senha enviado por e-mail para {email}. Se não chegar, envie este "
                               "link para {name}: ele vale por 72 horas e só pode ser usado uma vez.",
    "mail.link.not_emailed": "O e-mail não foi enviado: o envio de e-mails não está configurado (Configurações › "
                             "E-mail). Envie este link para {name}: ele vale por 72 horas e só pode ser usado "
                             "uma vez.",
    "mail.link.toast_emailed": "E-mail enviado para {email}.",
}

EN: dict[str, str] = {
    "mail.footer": "You received this e-mail because you have an account at {tenant} on {product}.",
    "mail.ignore": "If you did not expect this e-mail, you can ignore it.",
    "mail.link_fallback": "If the button does not work, copy and paste this address into your browser:",
    "mail.invite.subject": "{inviter} invited you to {tenant}",
    "mail.invite.title": "You are invited to {tenant}",
    "mail.invite.body": "Hello, {name}! {inviter} created an account for you on {tenant}'s {product}. Choose your "
                        "password to sign in. The link works for 72 hours and only once.",
    "mail.invite.action": "Choose my password",
    "mail.reset.subject": "Reset your password at {tenant}",
    "mail.reset.title": "Reset your password",
    "mail.reset.body": "Hello, {name}! An admin of {tenant} asked for a new password for your account; the old "
                       "password no longer works. The link works for 72 hours and only once.",
    "mail.reset.action": "Choose a new password",
    "mail.assigned.subject": "Conversation with {contact} assigned to you",
    "mail.assigned.title": "A conversation was assigned to you",
    "mail.assigned.body": "Hello, {name}! While you were away, the conversation with {contact} was assigned to you "
                          "at {tenant}.",
    "mail.assigned.action": "Open the conversation",
    "mail.assigned.optout": "You get this notice because you turned it on in your account. Turn it off in My "
                            "account.",
    "mail.notification.subject": "{title}",
    "mail.notification.action": "Open",
    "mail.test.subject": "Test e-mail from {product}",
    "mail.test.title": "Sending e-mail works",
    "mail.test.body": "This is a test e-mail sent by {sender} from {tenant}'s e-mail settings.",
    "setting.mail.smtp_host": "SMTP server",
    "setting.mail.smtp_host.help": "Host name or IP of the sending server, for example smtp.yourprovider.com.",
    "setting.mail.smtp_port": "SMTP port",
    "setting.mail.smtp_port.help": "Usually 587 (STARTTLS), 465 (TLS) or 25.",
    "setting.mail.smtp_security": "Connection security",
    "setting.mail.smtp_security.help": "starttls (587), tls (465) or none (unencrypted: local networks only).",
    "setting.mail.smtp_username": "SMTP user",
    "setting.mail.smtp_username.help": "The server login; blank sends without logging in.",
    "setting.mail.smtp_password": "SMTP password",
    "setting.mail.smtp_password.help": "Stored encrypted; never shown back.",
    "setting.mail.from_address": "Sender (e-mail)",
    "setting.mail.from_address.help": "The address shown in \"From\", for example no-reply@yourcompany.com.",
    "setting.mail.from_name": "Sender (name)",
    "setting.mail.from_name.help": "The name shown in \"From\", for example Pousada Sol.",
    "mail.link.emailed": "Invitation e-mailed to {email}. If it does not arrive, send this link to {name}: it works "
                         "for 72 hours, and only once.",
    "mail.link.reset_emailed": "New password link e-mailed to {email}. If it does not arrive, send this link to "
                               "{name}: it works for 72 hours, and only once.",
    "mail.link.not_emailed": "The e-mail was not sent: sending e-mail is not set up (Settings › E-mail). Send this "
                             "link to {name}: it works for 72 hours, and only once.",
    "mail.link.toast_emailed": "E-mail sent to {email}.",
}
