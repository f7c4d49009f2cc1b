"""The incident register's clocks and draft notice (pure): ANPD Resolution 15/2024 gives 3 business days from
when the controller learnt of the incident; GDPR art. 33 gives 72 hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

ANPD_BUSINESS_DAYS = 3
GDPR_HOURS = 72
CATEGORIES = ("identification", "contact", "messages", "financial", "credentials", "location", "health",
              "children", "other_sensitive")


class BusinessCalendar(Protocol):
    def add_business_days(self, start: dt.date, n: int) -> dt.date: ...


@dataclass(frozen=True)
class Deadlines:
    """When each notice is due, and how long is left at `now` (negative once overdue)."""

    anpd_due: dt.datetime
    gdpr_due: dt.datetime
    anpd_left: dt.timedelta
    gdpr_left: dt.timedelta


def deadlines(detected_at: dt.datetime, *, timezone: str, calendar: BusinessCalendar,
              now: dt.datetime) -> Deadlines:
    """The ANPD deadline (end of the 3rd business day after the day it was learnt of, in the tenant's zone, on the
    shared calendar) and the GDPR one (72 hours after).

    Args:
        detected_at: When the controller learnt of the incident (aware).
        timezone: The tenant's zone, whose days and holidays count.
        calendar: The tenant's business-day calendar.
        now: The clock.

    Returns:
        Both deadlines, in UTC, and the time left.
    """
    zone = ZoneInfo(timezone)
    local_day = detected_at.astimezone(zone).date()
    last_day = calendar.add_business_days(local_day, ANPD_BUSINESS_DAYS)
    anpd_due = (dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
                - dt.timedelta(seconds=1)).astimezone(dt.UTC)
    gdpr_due = detected_at.astimezone(dt.UTC) + dt.timedelta(hours=GDPR_HOURS)
    return Deadlines(anpd_due, gdpr_due, anpd_due - now, gdpr_due - now)


NOTICE_PT = """COMUNICAÇÃO DE INCIDENTE DE SEGURANÇA — RASCUNHO
(Resolução CD/ANPD nº 15/2024)

Controlador: {tenant}
Incidente: {title}
Data em que o incidente ocorreu: {occurred}
Data em que o controlador tomou conhecimento: {detected}

1. Descrição da natureza do incidente
{description}

2. Categorias de dados pessoais afetados
{categories}

3. Número de titulares afetados: {affected}

4. Medidas técnicas e de segurança adotadas para reverter ou mitigar os efeitos
{measures}

5. Riscos relacionados ao incidente e possíveis impactos aos titulares
[descrever]

6. Motivos da demora, caso a comunicação não tenha sido feita no prazo de 3 dias úteis
[se aplicável]

Prazo para a comunicação à ANPD: {anpd_due}
Encarregado (DPO): [nome e contato]
"""

CATEGORY_PT = {"identification": "dados de identificação (nome, CPF)", "contact": "dados de contato (telefone, "
               "e-mail)", "messages": "conteúdo de mensagens", "financial": "dados financeiros",
               "credentials": "credenciais de acesso", "location": "dados de localização",
               "health": "dados de saúde (sensível)", "children": "dados de crianças e adolescentes",
               "other_sensitive": "outros dados sensíveis"}


def draft_notice_pt(*, tenant: str, title: str, description: str, occurred: str, detected: str,
                    categories: list[str], affected: int, measures: str, anpd_due: str) -> str:
    """The draft notice to the ANPD, in pt-BR, for the DPO to complete."""
    listed = "\n".join(f"- {CATEGORY_PT.get(c, c)}" for c in categories) or "- [informar]"
    return NOTICE_PT.format(tenant=tenant, title=title, occurred=occurred or "[informar]", detected=detected,
                            description=description or "[descrever]", categories=listed,
                            affected=f"{affected:,}".replace(",", "."), measures=measures or "[descrever]",
                            anpd_due=anpd_due)
