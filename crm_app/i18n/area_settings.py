"""Strings of one product area (the settings registry and its pages), in both languages. Merged into the
catalogues by `crm_app.i18n`. Each setting has "setting.<key>" (label) and "setting.<key>.help"."""

PT_BR: dict[str, str] = {
    # Categories
    "setting_category.system": "Sistema",
    "setting_category.channel": "Canal",
    "setting_category.notification": "Notificações",
    "setting_category.backup": "Backup",
    "setting_category.compliance": "Conformidade",
    "setting_category.security": "Segurança",
    "setting_category.ai": "Inteligência artificial",
    # Settings
    "setting.security.require_2fa_roles": "Papéis que exigem verificação em duas etapas",
    "setting.security.require_2fa_roles.help": "Quem tem um destes papéis precisa ativar a verificação em duas "
                                               "etapas para entrar.",
    "setting.security.session_idle_minutes": "Tempo de inatividade da sessão (minutos)",
    "setting.security.session_idle_minutes.help": "Sem uso por este tempo, a sessão termina. De 5 a 1440.",
    "setting.security.session_absolute_hours": "Duração máxima da sessão (horas)",
    "setting.security.session_absolute_hours.help": "Depois disso é preciso entrar de novo, mesmo em uso. De 1 a "
                                                    "168.",
    "setting.security.attendants_edit_any_contact": "Atendentes editam qualquer contato",
    "setting.security.attendants_edit_any_contact.help": "Desligado, atendentes editam só contatos das conversas "
                                                         "que podem abrir.",
    "setting.security.api_rate_limit_per_minute": "Limite da API por token (requisições por minuto)",
    "setting.security.api_rate_limit_per_minute.help": "Acima disso a API responde 429 até o minuto seguinte.",
    "setting.channel.keep_deleted_message_text": "Guardar o texto de mensagens apagadas pelo cliente",
    "setting.channel.keep_deleted_message_text.help": "Ligado, o texto fica para auditoria (visível ao passar o "
                                                      "mouse); desligado, é apagado.",
    "setting.ai.enabled": "IA ligada",
    "setting.ai.enabled.help": "O bot e as sugestões aos atendentes usam o modelo configurado.",
    "setting.ai.base_url": "Endereço da API (compatível com OpenAI)",
    "setting.ai.base_url.help": "Por exemplo https://api.openai.com/v1. Endereços internos só se o sistema "
                                "permitir.",
    "setting.ai.model": "Modelo",
    "setting.ai.model.help": "O nome do modelo no provedor, por exemplo gpt-4o-mini.",
    "setting.ai.api_key": "Chave da API",
    "setting.ai.api_key.help": "Guardada criptografada; nunca é mostrada de volta.",
    "setting.ai.timeout_seconds": "Tempo limite da chamada (segundos)",
    "setting.ai.timeout_seconds.help": "De 1 a 120 segundos.",
    "setting.ai.min_confidence": "Confiança mínima",
    "setting.ai.min_confidence.help": "Respostas com confiança abaixo disso passam a conversa para uma pessoa. "
                                      "De 0 a 1.",
    "setting.ai.input_cost_per_mtok": "Custo de entrada (USD por milhão de tokens)",
    "setting.ai.input_cost_per_mtok.help": "Para o registro de custos e o orçamento.",
    "setting.ai.output_cost_per_mtok": "Custo de saída (USD por milhão de tokens)",
    "setting.ai.output_cost_per_mtok.help": "Para o registro de custos e o orçamento.",
    "setting.ai.monthly_budget_usd": "Orçamento mensal (USD)",
    "setting.ai.monthly_budget_usd.help": "Atingido o orçamento, a IA para até o mês seguinte. 0 = sem limite.",
    "setting.ai.system_prompt": "Instruções ao modelo",
    "setting.ai.system_prompt.help": "Texto adicional enviado ao modelo em toda conversa (até 4000 caracteres).",
    "setting.system.bot_tenant_concurrency": "Turnos do bot ao mesmo tempo por empresa",
    "setting.system.bot_tenant_concurrency.help": "Acima disso, o turno seguinte espera um instante.",
    "setting.system.allow_private_outbound_urls": "Permitir endereços internos em URLs configuradas",
    "setting.system.allow_private_outbound_urls.help": "Loopback, rede privada e link-local para SSO e IA. "
                                                       "Desligue em produção.",
    "setting.system.sso_endpoint_origins": "Origens extras aceitas no SSO",
    "setting.system.sso_endpoint_origins.help": "Separadas por vírgula, por exemplo "
                                                "https://oauth2.googleapis.com.",
    "setting.system.trusted_proxies": "Proxies confiáveis",
    "setting.system.trusted_proxies.help": "Endereços ou redes (CIDR), separados por vírgula, cujos cabeçalhos "
                                           "X-Forwarded-For aceitamos.",
}

EN: dict[str, str] = {
    "setting_category.system": "System",
    "setting_category.channel": "Channel",
    "setting_category.notification": "Notifications",
    "setting_category.backup": "Backup",
    "setting_category.compliance": "Compliance",
    "setting_category.security": "Security",
    "setting_category.ai": "Artificial intelligence",
    "setting.security.require_2fa_roles": "Roles that must use two-step verification",
    "setting.security.require_2fa_roles.help": "Anyone with one of these roles must turn on two-step "
                                               "verification to sign in.",
    "setting.security.session_idle_minutes": "Session idle timeout (minutes)",
    "setting.security.session_idle_minutes.help": "Unused for this long, the session ends. 5 to 1440.",
    "setting.security.session_absolute_hours": "Maximum session length (hours)",
    "setting.security.session_absolute_hours.help": "After this, sign in again even while in use. 1 to 168.",
    "setting.security.attendants_edit_any_contact": "Attendants edit any contact",
    "setting.security.attendants_edit_any_contact.help": "Off, attendants edit only contacts of conversations "
                                                         "they can open.",
    "setting.security.api_rate_limit_per_minute": "API limit per token (requests per minute)",
    "setting.security.api_rate_limit_per_minute.help": "Past it the API answers 429 until the next minute.",
    "setting.channel.keep_deleted_message_text": "Keep the text of messages the customer deletes",
    "setting.channel.keep_deleted_message_text.help": "On, the text is kept for audit (shown on hover); off, it "
                                                      "is blanked.",
    "setting.ai.enabled": "AI on",
    "setting.ai.enabled.help": "The bot and attendants' suggestions use the configured model.",
    "setting.ai.base_url": "API address (OpenAI-compatible)",
    "setting.ai.base_url.help": "For example https://api.openai.com/v1. Internal addresses only if the system "
                                "allows them.",
    "setting.ai.model": "Model",
    "setting.ai.model.help": "The provider's model name, for example gpt-4o-mini.",
    "setting.ai.api_key": "API key",
    "setting.ai.api_key.help": "Stored encrypted; never shown back.",
    "setting.ai.timeout_seconds": "Call timeout (seconds)",
    "setting.ai.timeout_seconds.help": "1 to 120 seconds.",
    "setting.ai.min_confidence": "Minimum confidence",
    "setting.ai.min_confidence.help": "Answers below this confidence hand the conversation to a person. 0 to 1.",
    "setting.ai.input_cost_per_mtok": "Input cost (USD per million tokens)",
    "setting.ai.input_cost_per_mtok.help": "For the cost ledger and the budget.",
    "setting.ai.output_cost_per_mtok": "Output cost (USD per million tokens)",
    "setting.ai.output_cost_per_mtok.help": "For the cost ledger and the budget.",
    "setting.ai.monthly_budget_usd": "Monthly budget (USD)",
    "setting.ai.monthly_budget_usd.help": "Once reached, the AI stops until next month. 0 = no cap.",
    "setting.ai.system_prompt": "Instructions to the model",
    "setting.ai.system_prompt.help": "Extra text sent to the model in every conversation (up to 4000 "
                                     "characters).",
    "setting.system.bot_tenant_concurrency": "Bot turns at once per tenant",
    "setting.system.bot_tenant_concurrency.help": "Past this, the next turn waits a moment.",
    "setting.system.allow_private_outbound_urls": "Allow internal addresses in configured URLs",
    "setting.system.allow_private_outbound_urls.help": "Loopback, private and link-local, for SSO and AI. Turn "
                                                       "off in production.",
    "setting.system.sso_endpoint_origins": "Extra origins accepted for SSO",
    "setting.system.sso_endpoint_origins.help": "Comma separated, for example https://oauth2.googleapis.com.",
    "setting.system.trusted_proxies": "Trusted proxies",
    "setting.system.trusted_proxies.help": "Addresses or networks (CIDR), comma separated, whose "
                                           "X-Forwarded-For headers we accept.",
}
