"""Strings of one product area (analytics), in both languages. Merged into the catalogues by `crm_app.i18n`."""

PT_BR: dict[str, str] = {
    "error.analytics_needs_postgresql": "Os números do painel precisam do PostgreSQL (DATABASE_URL). Os fatos já "
                                        "estão sendo registrados e aparecem quando o painel rodar no PostgreSQL.",
    "nav.analytics_me": "Meus números",
    "inbox.selection": "Conversas do gráfico do painel",
    "inbox.selection_clear": "Ver todas",
    "inbox.period": "Período",
    "inbox.period.count": "{count} conversas",
    "inbox.period.on.opened": "abertas",
    "inbox.period.on.closed": "encerradas",
    "inbox.period.on.first_response": "com a 1ª resposta",
    "inbox.period.on.inbound": "com mensagem do cliente",
    "inbox.period.since": "De",
    "inbox.period.until": "Até",
    "inbox.period.hour": "{hour}h",
    "inbox.period.bad": "Período inválido no endereço; mostrando sem ele.",
    "inbox.blocked.read_only": "Somente leitura: o perfil executivo vê as conversas, mas não responde nem as altera.",
    "inbox.read_only": "Somente leitura",
    "role.executive": "Executivo",
    "analytics.me_title": "Meus números",
    "analytics.purpose": "Volumes, tempos e desempenho do período, comparados com o período anterior.",
    "analytics.period": "Período",
    "analytics.period.today": "Hoje",
    "analytics.period.7d": "7 dias",
    "analytics.period.30d": "30 dias",
    "analytics.period.90d": "90 dias",
    "analytics.period.365d": "12 meses",
    "analytics.period.custom": "Personalizado",
    "analytics.since": "De",
    "analytics.until": "Até",
    "analytics.apply": "Aplicar",
    "analytics.all": "Todos",
    "analytics.filter.team": "Equipe",
    "analytics.filter.number": "Número",
    "analytics.filter.label": "Etiqueta",
    "analytics.filter.attendant": "Atendente",
    "analytics.print": "Imprimir",
    "analytics.vs_previous": "vs. período anterior",
    "analytics.no_previous": "sem base no período anterior",
    "analytics.business": "em horário comercial",
    "analytics.empty_title": "Nada para mostrar neste período",
    "analytics.empty": "Não houve conversas nem mensagens no período e filtros escolhidos, por isso os números estão "
                       "zerados. Os números começam a contar quando os clientes escrevem; nada aqui é fictício.",
    "analytics.card.opened": "Conversas abertas",
    "analytics.card.closed": "Conversas encerradas",
    "analytics.card.messages_in": "Mensagens recebidas",
    "analytics.card.messages_out": "Mensagens enviadas",
    "analytics.card.new_contacts": "Novos contatos",
    "analytics.card.frt": "Primeira resposta (mediana)",
    "analytics.card.resolution": "Resolução (mediana)",
    "analytics.card.containment": "Resolvidas pelo bot",
    "analytics.card.unanswered": "Sem resposta após transferência",
    "analytics.card.windows_missed": "Janelas de 24 h perdidas",
    "analytics.card.failed_sends": "Envios com falha",
    "analytics.tip.opened": "Conversas abertas ou reabertas, cada uma contada uma vez por dia em que (re)abriu: a "
                            "barra de um dia é o número de conversas, e o total é a soma dos dias.",
    "analytics.tip.closed": "Conversas encerradas (por qualquer pessoa, pelo bot ou por inatividade), cada uma "
                            "contada uma vez por dia em que foi encerrada; o total é a soma dos dias.",
    "analytics.tip.messages_in": "Mensagens dos clientes recebidas no período.",
    "analytics.tip.messages_out": "Mensagens que pessoas enviaram aos clientes (notas internas não contam).",
    "analytics.tip.new_contacts": "Contatos vistos pela primeira vez no período (só sem filtros).",
    "analytics.tip.frt": "Da transferência do bot até a primeira mensagem de uma pessoa ao cliente. Mensagens do bot "
                         "nunca contam, e uma transferência entre equipes não reinicia o relógio. Mediana, p90 e média.",
    "analytics.tip.resolution": "Da abertura (ou reabertura) até o encerramento; uma reabertura começa um novo "
                                 "ciclo. Mediana, p90 e média.",
    "analytics.tip.containment": "Ciclos encerrados pelo bot sem nenhuma mensagem de pessoa, sobre os ciclos "
                                 "encerrados (uma reabertura começa um novo ciclo).",
    "analytics.tip.unanswered": "Encerradas (por alguém ou por inatividade) sem mensagem de pessoa depois da "
                                "transferência do bot.",
    "analytics.tip.windows_missed": "Depois da transferência, a última mensagem do cliente ficou 24 h sem resposta "
                                    "de uma pessoa; contada no dia em que a janela fechou.",
    "analytics.tip.failed_sends": "Mensagens enviadas (por pessoas ou pelo bot) que falharam, por motivo da Meta.",
    "analytics.chart.volume": "Volume por dia",
    "analytics.chart.heatmap": "Demanda: conversas em que o cliente escreveu, por dia da semana e hora",
    "analytics.chart.staffing": "Demanda × equipe online, por hora (média diária)",
    "analytics.chart.frt": "Distribuição da primeira resposta",
    "analytics.chart.reasons": "Motivos de transferência do bot",
    "analytics.chart.failed": "Falhas de envio por motivo",
    "analytics.chart.click": "Clique numa barra ou célula para abrir essas conversas no atendimento.",
    "analytics.tip.heatmap": "Cada célula: conversas em que o cliente escreveu ao menos uma vez naquele dia da "
                             "semana e hora (horário do tenant) no período, cada conversa contada uma vez por "
                             "célula, mesmo que tenha escrito nesse horário em várias semanas. O clique abre "
                             "exatamente essas conversas.",
    "analytics.tip.frt_buckets": "Conversas por tempo da primeira resposta (da transferência do bot à primeira "
                                 "mensagem de uma pessoa): cada conversa conta uma vez em cada faixa em que teve "
                                 "uma primeira resposta no período (uma reabertura tem a sua). O clique abre "
                                 "exatamente essas conversas.",
    "analytics.series.opened": "Abertas",
    "analytics.series.closed": "Encerradas",
    "analytics.series.inbound": "Mensagens recebidas",
    "analytics.series.online": "Atendentes online",
    "analytics.series.first_responses": "Primeiras respostas",
    "analytics.weekday.0": "Seg", "analytics.weekday.1": "Ter", "analytics.weekday.2": "Qua",
    "analytics.weekday.3": "Qui", "analytics.weekday.4": "Sex", "analytics.weekday.5": "Sáb",
    "analytics.weekday.6": "Dom",
    "analytics.table.attendants": "Atendentes",
    "analytics.table.teams": "Equipes",
    "analytics.table.numbers": "Números",
    "analytics.col.name": "Nome",
    "analytics.col.handled": "Atendidas",
    "analytics.col.frt": "1ª resposta",
    "analytics.col.spread": "mediana / p90 / média",
    "analytics.col.resolution": "Resolução",
    "analytics.col.sent": "Mensagens enviadas",
    "analytics.col.online": "Horas online",
    "analytics.col.busy": "Ocupação",
    "analytics.tip.busy": "Parte do tempo online em que a pessoa tinha ao menos uma conversa atribuída aberta "
                          "(da primeira atribuição ao encerramento; uma conversa transferida conta para quem a "
                          "encerrou). Conversas simultâneas contam uma vez. Não muda com os filtros de número, "
                          "equipe ou etiqueta.",
    "analytics.none_rows": "Ninguém com números no período.",
    "analytics.timeline": "Linha do tempo do dia",
    "analytics.timeline.empty": "Nenhuma atividade registrada neste dia.",
    "analytics.timeline.online": "Online",
    "analytics.timeline.away": "Ausente",
    "analytics.timeline.message": "Mensagem enviada",
    "analytics.timeline.close": "Encerrou uma conversa",
    "analytics.timeline.first_response": "Primeira resposta",
    "analytics.close": "Fechar",
    "analytics.no_failures": "Nenhum envio falhou no período.",
    "analytics.card.first_contact": "Resolvidas no primeiro contato",
    "analytics.tip.first_contact": "Ciclos encerrados no período que não foram reabertos em até 7 dias e que não "
                                   "eram eles mesmos uma volta em até 7 dias do encerramento anterior (o mesmo "
                                   "assunto voltando), sobre os ciclos encerrados. Um ciclo encerrado há menos de 7 "
                                   "dias conta até ser reaberto.",
    "analytics.average": "média",
    "analytics.points": "p.p.",
    "analytics.col.fcr": "1º contato",
    "analytics.tip.volume": "Por dia (horário do tenant): conversas abertas ou reabertas e conversas encerradas, "
                            "cada conversa uma vez por dia. O clique numa barra abre exatamente essas conversas.",
    "analytics.tip.staffing": "Por hora do dia, a média diária no período de mensagens recebidas dos clientes "
                              "(barras) e de atendentes online (linha, pelo histórico de presença).",
    "analytics.tip.reasons": "Transferências do bot para pessoas no período, por motivo (menu, palavra de saída, "
                             "pedido do cliente…).",
    "analytics.tip.csat_chart": "Quantas pesquisas respondidas no período deram cada nota, de 1 a 5.",
    "analytics.tip.failed_chart": "Mensagens enviadas (por pessoas ou pelo bot) que falharam no período, agrupadas "
                                  "pelo motivo informado pela Meta.",
    "analytics.tip.col_name": "A pessoa, equipe ou número. Numa linha de atendente, o clique abre a linha do "
                              "tempo do dia.",
    "analytics.tip.handled": "Ciclos encerrados no período enquanto atribuídos a esta pessoa, equipe ou número.",
    "analytics.tip.fcr": "Dos ciclos atendidos, a parte resolvida no primeiro contato: não reaberta em até 7 dias "
                         "e que não era ela mesma uma volta do mesmo assunto.",
    "analytics.tip.col_frt": "Da transferência do bot à primeira mensagem de uma pessoa: mediana, p90 e média. "
                             "Conta para quem enviou a primeira mensagem.",
    "analytics.tip.col_resolution": "Da abertura (ou reabertura) ao encerramento: mediana, p90 e média. Conta "
                                    "para quem tinha a conversa ao encerrar.",
    "analytics.tip.sent": "Mensagens que pessoas enviaram aos clientes (notas internas não contam).",
    "analytics.tip.online": "Horas com presença Disponível no período, pelo histórico de presença.",
    "analytics.bad_filter": "Filtro inválido: {detail}",
    "analytics.sla.title": "SLA",
    "analytics.sla.tip.section": "Cumprimento dos prazos das políticas de SLA. Um prazo conta no período em que foi "
                                 "decidido: cumprido, no momento do atendimento; estourado, no vencimento (respondido "
                                 "depois ou não). Prazos ainda correndo não contam.",
    "analytics.sla.card.first_response": "SLA de 1ª resposta",
    "analytics.sla.card.next_response": "SLA de próxima resposta",
    "analytics.sla.card.resolution": "SLA de resolução",
    "analytics.sla.tip.first_response": "Cumprimento = no prazo / (no prazo + estourados), da transferência para uma "
                                        "pessoa até a primeira mensagem dela. Um prazo conta no período em que foi "
                                        "decidido: cumprido, no momento do atendimento; estourado, no vencimento "
                                        "(respondido depois ou não). Prazos ainda correndo não contam.",
    "analytics.sla.tip.next_response": "Cumprimento = no prazo / (no prazo + estourados), de cada mensagem do cliente "
                                       "após uma resposta até a resposta seguinte. Um prazo conta no período em que "
                                       "foi decidido: cumprido, no momento do atendimento; estourado, no vencimento "
                                       "(respondido depois ou não). Prazos ainda correndo não contam.",
    "analytics.sla.tip.resolution": "Cumprimento = no prazo / (no prazo + estourados), do início (ou reabertura) do "
                                    "atendimento até o encerramento. Um prazo conta no período em que foi decidido: "
                                    "cumprido, no momento do atendimento; estourado, no vencimento (respondido depois "
                                    "ou não). Prazos ainda correndo não contam.",
    "analytics.sla.detail": "{hit} no prazo · {missed} fora do prazo",
    "analytics.sla.chart": "Violações de SLA por dia",
    "analytics.sla.tip.chart": "Prazos estourados por dia local do vencimento, por alvo. Cada prazo estourado é uma "
                               "violação, respondido depois ou não.",
    "analytics.sla.series.first_response": "1ª resposta",
    "analytics.sla.series.next_response": "Próxima resposta",
    "analytics.sla.series.resolution": "Resolução",
    "analytics.sla.table": "Cumprimento de SLA",
    "analytics.sla.by.team": "Por equipe",
    "analytics.sla.by.attendant": "Por atendente",
    "analytics.sla.by.number": "Por número",
    "analytics.sla.col.first_response": "1ª resposta",
    "analytics.sla.col.next_response": "Próxima resposta",
    "analytics.sla.col.resolution": "Resolução",
    "analytics.sla.col.breaches": "Violações",
    "analytics.sla.tip.col_name": "A equipe, o atendente ou o número da conversa quando o prazo terminou.",
    "analytics.sla.tip.col_first_response": "Cumprimento do prazo de 1ª resposta, e no prazo / decididos no período.",
    "analytics.sla.tip.col_next_response": "Cumprimento dos prazos de próxima resposta, e no prazo / decididos no "
                                           "período.",
    "analytics.sla.tip.col_resolution": "Cumprimento do prazo de resolução, e no prazo / decididos no período.",
    "analytics.sla.tip.col_breaches": "Prazos estourados no período, dos três alvos.",
    "analytics.sla.empty_title": "Nenhum prazo de SLA ainda",
    "analytics.sla.empty": "Crie uma política em Configurações › SLA: os prazos das conversas aparecem aqui, com o "
                           "cumprimento por equipe, atendente e número.",
}

EN: dict[str, str] = {
    "error.analytics_needs_postgresql": "The dashboard figures need PostgreSQL (DATABASE_URL). The facts are "
                                        "already being kept and show once the dashboard runs on PostgreSQL.",
    "nav.analytics_me": "My figures",
    "inbox.selection": "Conversations from the analytics chart",
    "inbox.selection_clear": "See all",
    "inbox.period": "Period",
    "inbox.period.count": "{count} conversations",
    "inbox.period.on.opened": "opened",
    "inbox.period.on.closed": "closed",
    "inbox.period.on.first_response": "first answered",
    "inbox.period.on.inbound": "with a customer message",
    "inbox.period.since": "From",
    "inbox.period.until": "To",
    "inbox.period.hour": "{hour}:00",
    "inbox.period.bad": "Invalid period in the address; showing without it.",
    "inbox.blocked.read_only": "Read-only: the executive role sees conversations but neither replies nor changes them.",
    "inbox.read_only": "Read-only",
    "role.executive": "Executive",
    "analytics.me_title": "My figures",
    "analytics.purpose": "Volumes, times and performance of the period, compared with the period before.",
    "analytics.period": "Period",
    "analytics.period.today": "Today",
    "analytics.period.7d": "7 days",
    "analytics.period.30d": "30 days",
    "analytics.period.90d": "90 days",
    "analytics.period.365d": "12 months",
    "analytics.period.custom": "Custom",
    "analytics.since": "From",
    "analytics.until": "To",
    "analytics.apply": "Apply",
    "analytics.all": "All",
    "analytics.filter.team": "Team",
    "analytics.filter.number": "Number",
    "analytics.filter.label": "Label",
    "analytics.filter.attendant": "Attendant",
    "analytics.print": "Print",
    "analytics.vs_previous": "vs. previous period",
    "analytics.no_previous": "nothing to compare with",
    "analytics.business": "in business hours",
    "analytics.empty_title": "Nothing to show for this period",
    "analytics.empty": "There were no conversations or messages in the chosen period and filters, so the figures "
                       "are zero. Figures start counting when customers write; nothing here is made up.",
    "analytics.card.opened": "Conversations opened",
    "analytics.card.closed": "Conversations closed",
    "analytics.card.messages_in": "Messages received",
    "analytics.card.messages_out": "Messages sent",
    "analytics.card.new_contacts": "New contacts",
    "analytics.card.frt": "First response (median)",
    "analytics.card.resolution": "Resolution (median)",
    "analytics.card.containment": "Resolved by the bot",
    "analytics.card.unanswered": "Unanswered after handoff",
    "analytics.card.windows_missed": "24 h windows missed",
    "analytics.card.failed_sends": "Failed sends",
    "analytics.tip.opened": "Conversations opened or reopened, each counted once per day it (re)opened: a day's "
                            "bar is the number of conversations, and the total is the sum of the days.",
    "analytics.tip.closed": "Conversations closed (by anyone, by the bot or by inactivity), each counted once per "
                            "day it closed; the total is the sum of the days.",
    "analytics.tip.messages_in": "Customer messages received in the period.",
    "analytics.tip.messages_out": "Messages people sent to customers (private notes do not count).",
    "analytics.tip.new_contacts": "Contacts first seen in the period (without filters only).",
    "analytics.tip.frt": "From the bot's handoff to a person's first message to the customer. Bot messages never "
                         "count, and a transfer between teams does not restart the clock. Median, p90 and average.",
    "analytics.tip.resolution": "From the (re)opening to the close; a reopen starts a new cycle. Median, p90 "
                                 "and average.",
    "analytics.tip.containment": "Cycles closed by the bot with no message from a person, over the cycles closed "
                                 "(a reopen starts a new cycle).",
    "analytics.tip.unanswered": "Closed (by someone or by inactivity) with no message from a person after the bot's "
                                "handoff.",
    "analytics.tip.windows_missed": "After the handoff, the customer's last message went 24 h without an answer from "
                                    "a person; counted on the day the window closed.",
    "analytics.tip.failed_sends": "Messages sent (by people or the bot) that failed, by Meta's reason.",
    "analytics.chart.volume": "Volume per day",
    "analytics.chart.heatmap": "Demand: conversations where the customer wrote, by weekday and hour",
    "analytics.chart.staffing": "Demand vs attendants online, per hour (daily average)",
    "analytics.chart.frt": "First response distribution",
    "analytics.chart.reasons": "Why the bot handed over",
    "analytics.chart.failed": "Failed sends by reason",
    "analytics.chart.click": "Click a bar or cell to open those conversations in the inbox.",
    "analytics.tip.heatmap": "Each cell: conversations whose customer wrote at least once on that weekday and "
                             "hour (the tenant's time) in the period, each conversation counted once per cell even "
                             "if it wrote at that time in several weeks. A click opens exactly those "
                             "conversations.",
    "analytics.tip.frt_buckets": "Conversations by first response time (the bot's handoff to a person's first "
                                 "message): each conversation counts once in each bucket where it had a first "
                                 "response in the period (a reopen has its own). A click opens exactly those "
                                 "conversations.",
    "analytics.series.opened": "Opened",
    "analytics.series.closed": "Closed",
    "analytics.series.inbound": "Messages received",
    "analytics.series.online": "Attendants online",
    "analytics.series.first_responses": "First responses",
    "analytics.weekday.0": "Mon", "analytics.weekday.1": "Tue", "analytics.weekday.2": "Wed",
    "analytics.weekday.3": "Thu", "analytics.weekday.4": "Fri", "analytics.weekday.5": "Sat",
    "analytics.weekday.6": "Sun",
    "analytics.table.attendants": "Attendants",
    "analytics.table.teams": "Teams",
    "analytics.table.numbers": "Numbers",
    "analytics.col.name": "Name",
    "analytics.col.handled": "Handled",
    "analytics.col.frt": "First response",
    "analytics.col.spread": "median / p90 / average",
    "analytics.col.resolution": "Resolution",
    "analytics.col.sent": "Messages sent",
    "analytics.col.online": "Online hours",
    "analytics.col.busy": "Busy share",
    "analytics.tip.busy": "Share of online time with at least one assigned conversation open (from its first "
                          "assignment to its close; a transferred conversation counts for whoever closed it). "
                          "Simultaneous conversations count once. Not narrowed by the number, team or label filters.",
    "analytics.none_rows": "Nobody with figures in the period.",
    "analytics.timeline": "Timeline of the day",
    "analytics.timeline.empty": "No activity recorded on this day.",
    "analytics.timeline.online": "Online",
    "analytics.timeline.away": "Away",
    "analytics.timeline.message": "Message sent",
    "analytics.timeline.close": "Closed a conversation",
    "analytics.timeline.first_response": "First response",
    "analytics.close": "Close",
    "analytics.no_failures": "No send failed in the period.",
    "analytics.card.first_contact": "First-contact resolution",
    "analytics.tip.first_contact": "Cycles closed in the period that were not reopened within 7 days and were not "
                                   "themselves a return within 7 days of the previous close (the same matter "
                                   "coming back), over the cycles closed. A cycle closed less than 7 days ago "
                                   "counts until it is reopened.",
    "analytics.average": "average",
    "analytics.points": "pp",
    "analytics.col.fcr": "First contact",
    "analytics.tip.volume": "Per day (the tenant's time): conversations opened or reopened and conversations "
                            "closed, each conversation once a day. Clicking a bar opens exactly those conversations.",
    "analytics.tip.staffing": "Per hour of the day, the period's daily average of customer messages received "
                              "(bars) and of attendants online (line, from the presence history).",
    "analytics.tip.reasons": "Handoffs from the bot to people in the period, by reason (menu, exit keyword, the "
                             "customer's request…).",
    "analytics.tip.csat_chart": "How many surveys answered in the period gave each rating, from 1 to 5.",
    "analytics.tip.failed_chart": "Messages sent (by people or the bot) that failed in the period, grouped by the "
                                  "reason Meta gave.",
    "analytics.tip.col_name": "The person, team or number. On an attendant's row, a click opens the day's timeline.",
    "analytics.tip.handled": "Cycles closed in the period while assigned to this person, team or number.",
    "analytics.tip.fcr": "Of the cycles handled, the share resolved at first contact: not reopened within 7 days, "
                         "and not itself the same matter coming back.",
    "analytics.tip.col_frt": "From the bot's handoff to a person's first message: median, p90 and average. Counted "
                             "for whoever sent the first message.",
    "analytics.tip.col_resolution": "From the (re)opening to the close: median, p90 and average. Counted for whoever "
                                    "held the conversation at the close.",
    "analytics.tip.sent": "Messages people sent to customers (private notes do not count).",
    "analytics.tip.online": "Hours with presence Available in the period, from the presence history.",
    "analytics.bad_filter": "Invalid filter: {detail}",
    "analytics.sla.title": "SLA",
    "analytics.sla.tip.section": "How the SLA policies' deadlines were met. A clock counts in the period it was "
                                 "decided in: a hit one when what it waited for happened; a missed one at its "
                                 "deadline (answered later or never). Clocks still running are not counted.",
    "analytics.sla.card.first_response": "First response SLA",
    "analytics.sla.card.next_response": "Next response SLA",
    "analytics.sla.card.resolution": "Resolution SLA",
    "analytics.sla.tip.first_response": "Attainment = hit / (hit + missed), from the handoff to a person to their "
                                        "first message. A clock counts in the period it was decided in: a hit one "
                                        "when what it waited for happened; a missed one at its deadline (answered "
                                        "later or never). Clocks still running are not counted.",
    "analytics.sla.tip.next_response": "Attainment = hit / (hit + missed), from each customer message after a reply "
                                       "to the next reply. A clock counts in the period it was decided in: a hit one "
                                       "when what it waited for happened; a missed one at its deadline (answered "
                                       "later or never). Clocks still running are not counted.",
    "analytics.sla.tip.resolution": "Attainment = hit / (hit + missed), from the start (or reopening) of the service "
                                    "to the close. A clock counts in the period it was decided in: a hit one when "
                                    "what it waited for happened; a missed one at its deadline (answered later or "
                                    "never). Clocks still running are not counted.",
    "analytics.sla.detail": "{hit} on time · {missed} missed",
    "analytics.sla.chart": "SLA breaches per day",
    "analytics.sla.tip.chart": "Missed clocks per local day of their deadline, by target. Each missed clock is one "
                               "breach, answered later or never.",
    "analytics.sla.series.first_response": "First response",
    "analytics.sla.series.next_response": "Next response",
    "analytics.sla.series.resolution": "Resolution",
    "analytics.sla.table": "SLA attainment",
    "analytics.sla.by.team": "By team",
    "analytics.sla.by.attendant": "By attendant",
    "analytics.sla.by.number": "By number",
    "analytics.sla.col.first_response": "First response",
    "analytics.sla.col.next_response": "Next response",
    "analytics.sla.col.resolution": "Resolution",
    "analytics.sla.col.breaches": "Breaches",
    "analytics.sla.tip.col_name": "The conversation's team, attendant or number when the clock finished.",
    "analytics.sla.tip.col_first_response": "First response attainment, and hit / decided in the period.",
    "analytics.sla.tip.col_next_response": "Next response attainment, and hit / decided in the period.",
    "analytics.sla.tip.col_resolution": "Resolution attainment, and hit / decided in the period.",
    "analytics.sla.tip.col_breaches": "Clocks missed in the period, all three targets.",
    "analytics.sla.empty_title": "No SLA deadlines yet",
    "analytics.sla.empty": "Create a policy in Settings › SLA: the conversations' deadlines show here, with "
                           "attainment per team, attendant and number.",
}
