"""CSAT inside WhatsApp: a list of five ratings after a person closes a conversation, and the answers.

**Offer.** `offer_after_close` runs in the close's transaction (`inbox.close`, the one human close path). The
survey goes out only when the tenant enabled it, a person resolved the cycle (never a bot-contained one; bot and
inactivity closes never call it), the 24 h window is open, this cycle has no survey yet (unique per conversation
and cycle) and the contact got none within `csat.min_gap_days`. The list message is queued through the
ordinary outbound path with a client key per survey, so a repeated close sends nothing twice.

**Answers.** When the contact's latest conversation is closed, inbound processing asks `match_answer` before it
reopens it. A tapped row of one of the contact's own surveys of that conversation (`csat:<survey id>:<1-5>`) is
the rating; a text while a rated survey waits for its comment (`csat.comment_minutes`) is the comment. Either is
stored in the closed conversation, which stays closed: no new cycle, no bot turn. Anything else (a text instead
of a rating, a text after the time limit, a photo, any message once the conversation runs again) is an ordinary
message that reopens it, as always, so the customer is never stuck in the survey. Redelivered webhooks store
nothing twice: the message is unique on its wamid, and so are the rating's and the comment's.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from crm_app.config import get_settings
from crm_app.db import UTCDateTime, insert_ignoring_conflicts, utcnow
from crm_app.domain import outbound as outbound_rules
from crm_app.domain import whatsapp
from crm_app.errors import CRMError
from crm_app.i18n import translate
from crm_app.models import (
    Contact,
    Conversation,
    ConversationFact,
    CsatStatus,
    CsatSurvey,
    Role,
    TeamMember,
    Tenant,
    User,
)
from crm_app.services import mail, settings
from crm_app.services.channel import outbound
from crm_app.services.core import outbox
from crm_app.services.core.actors import Actor
from crm_app.services.mail.templates import language_of

log = logging.getLogger(__name__)

RATINGS = (1, 2, 3, 4, 5)
LOW_RATING = 2  # this or lower e-mails the team's supervisors
COMMENT_MAX = 1000
_ROW_ID = re.compile(r"csat:(\d{1,12}):([1-5])")


def row_id(survey_id: int, rating: int) -> str:
    """The id of one rating's row in a survey's list (what the customer's tap sends back)."""
    return f"csat:{survey_id}:{rating}"


def _text(session: Session, tenant_id: int, language: str, name: str) -> str:
    """The tenant's own text for `name` (question, comment_prompt, thanks), else the catalogue's."""
    own = settings.value(session, f"csat.{name}", tenant_id=tenant_id) if name != "header" else ""
    return own or translate(language, f"csat.survey.{'body' if name == 'question' else name}")


def survey_content(session: Session, tenant_id: int, survey_id: int, language: str) -> dict[str, Any]:
    """The list message of one survey: header, question, button and the five rating rows."""
    rows = [{"id": row_id(survey_id, n), "title": translate(language, f"csat.survey.row.{n}")} for n in RATINGS]
    return {"type": "list", "header": translate(language, "csat.survey.header"),
            "body": _text(session, tenant_id, language, "question"),
            "button_label": translate(language, "csat.survey.button"), "sections": [{"rows": rows}]}


def _current_cycle(session: Session, conversation_id: int) -> int:
    return session.exec(select(func.coalesce(func.max(ConversationFact.cycle), 0))
                        .where(ConversationFact.conversation_id == conversation_id)).one()


def _asked_recently(session: Session, contact_id: int, now: dt.datetime, gap_days: int) -> bool:
    if gap_days <= 0:
        return False
    return session.exec(select(CsatSurvey.id).where(
        CsatSurvey.contact_id == contact_id, CsatSurvey.sent_at > now - dt.timedelta(days=gap_days))
        .limit(1)).first() is not None


def offer_after_close(session: Session, *, actor: Actor, conversation: Conversation) -> int | None:
    """Queue the survey for a conversation a person just closed, when every rule allows it (module docstring).

    Args:
        session: The close's transaction; the conversation is locked and already closed.
        actor: The person who closed it.
        conversation: The conversation.

    Returns:
        The new survey's id, or None when no survey was sent.
    """
    tenant_id, now = conversation.tenant_id, utcnow()
    if not settings.value(session, "csat.enabled", tenant_id=tenant_id) or conversation.resolved_by != "human":
        return None
    if not outbound_rules.is_window_open(conversation.last_customer_message_at, now):
        return None
    if _asked_recently(session, conversation.contact_id, now,
                       settings.value(session, "csat.min_gap_days", tenant_id=tenant_id)):
        return None
    language = settings.value(session, "csat.language", tenant_id=tenant_id)
    survey_id = insert_ignoring_conflicts(session, CsatSurvey, {
        "tenant_id": tenant_id, "conversation_id": conversation.id, "cycle": _current_cycle(session, conversation.id),
        "contact_id": conversation.contact_id, "contact_inbox_id": conversation.contact_inbox_id,
        "inbox_id": conversation.inbox_id, "team_id": conversation.team_id,
        "attendant_id": conversation.assignee_id or actor.user_id, "closed_by_user_id": actor.user_id,
        "language": language, "status": CsatStatus.SENT, "sent_at": now}, ["conversation_id", "cycle"])
    if survey_id is None:  # this cycle was asked already
        return None
    try:
        sent = outbound.send_message(session, actor=None, tenant_id=tenant_id, conversation_id=conversation.id,
                                     content=survey_content(session, tenant_id, survey_id, language),
                                     client_key=f"csat-{survey_id}-survey")
    except CRMError as exc:  # refused before anything was written: the survey row goes with the close
        log.warning("CSAT survey for conversation %s not queued: %s", conversation.id, exc)
        session.exec(CsatSurvey.__table__.delete().where(CsatSurvey.__table__.c.id == survey_id))
        return None
    session.exec(CsatSurvey.__table__.update().where(CsatSurvey.__table__.c.id == survey_id)
                 .values(message_id=sent.id))
    return survey_id


@dataclass(frozen=True)
class Answer:
    """A customer message that answers a survey: "rating", "comment", or "repeat" (another tap of a rated
    survey's list, absorbed without reopening)."""

    survey_id: int
    conversation_id: int
    kind: str
    rating: int | None = None


def _tapped(message: whatsapp.InboundMessage) -> tuple[int, int] | None:
    """(survey id, rating) of a tapped survey row."""
    if message.kind != "interactive":
        return None
    interactive = (message.payload or {}).get("interactive") or {}
    reply = interactive.get("list_reply") if interactive.get("type") == "list_reply" else None
    found = _ROW_ID.fullmatch(str((reply or {}).get("id") or ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


_surveys = CsatSurvey.__table__
# Hot-path statements are built once (inbound processing runs them per message; building them cost more than
# running them). FOR UPDATE: two deliveries of one answer, or an answer and a reopen, take turns.
_TAPPED = (sa.select(_surveys.c.id, _surveys.c.conversation_id, _surveys.c.status)
           .where(_surveys.c.id == sa.bindparam("survey_id"), _surveys.c.tenant_id == sa.bindparam("tenant_id"),
                  _surveys.c.contact_inbox_id == sa.bindparam("link_id")).with_for_update())
_AWAITING_COMMENT = (sa.select(_surveys.c.id, _surveys.c.conversation_id, _surveys.c.status)
                     .where(_surveys.c.contact_inbox_id == sa.bindparam("link_id"),
                            _surveys.c.tenant_id == sa.bindparam("tenant_id"),
                            _surveys.c.status == CsatStatus.RATED.value,
                            _surveys.c.comment_until >= sa.bindparam("now", type_=UTCDateTime))
                     .order_by(_surveys.c.id.desc()).limit(1).with_for_update())


def _survey_waiting(session: Session, tenant_id: int, link_id: int, message: whatsapp.InboundMessage,
                    now: dt.datetime) -> tuple[Any, str, int | None]:
    """(the survey's id, conversation and status, or None; "rating", "repeat" or "comment"; the rating)."""
    conn, tapped = session.connection(), _tapped(message)
    if tapped is not None:
        survey = conn.execute(_TAPPED, {"survey_id": tapped[0], "tenant_id": tenant_id, "link_id": link_id}).first()
        kind = "rating" if survey is not None and survey.status == CsatStatus.SENT else "repeat"
        return survey, kind, tapped[1]
    if message.kind != "text" or not (message.body or "").strip():
        return None, "", None
    survey = conn.execute(_AWAITING_COMMENT, {"link_id": link_id, "tenant_id": tenant_id, "now": now}).first()
    return survey, "comment", None


def match_answer(session: Session, *, tenant_id: int, link_id: int, conversation_id: int,
                 message: whatsapp.InboundMessage) -> Answer | None:
    """Whether an inbound message answers one of this contact's surveys (see the module docstring).

    Asked only when the contact's latest conversation is closed (an open one answers nothing), so the hot path
    of a running conversation pays nothing: a message that is neither a text nor an interactive reply asks no
    more, and a text costs one indexed look-up.

    Args:
        session: The inbound transaction, holding the contact identity's lock and the conversation's.
        tenant_id: The inbox's tenant.
        link_id: The contact's identity on the number (`contact_inboxes.id`).
        conversation_id: The identity's latest conversation, closed and locked by the caller.
        message: The parsed message.

    Returns:
        The answer, or None for an ordinary message.
    """
    if message.kind not in ("text", "interactive"):
        return None
    survey, kind, rating = _survey_waiting(session, tenant_id, link_id, message, utcnow())
    if survey is None or survey.conversation_id != conversation_id:
        return None
    return Answer(survey.id, survey.conversation_id, kind, rating)


def record_answer(session: Session, answer: Answer, *, message_id: int, message: whatsapp.InboundMessage) -> None:
    """Store a rating or a comment that `match_answer` found, and answer the customer (prompt or thanks).

    Args:
        session: The inbound transaction that just stored the customer's message (new, by its wamid).
        answer: What the message answers.
        message_id: The stored message.
        message: The parsed message.
    """
    survey = session.get(CsatSurvey, answer.survey_id, populate_existing=True)
    conversation = session.get(Conversation, answer.conversation_id, populate_existing=True)
    if conversation.last_customer_message_at is None or conversation.last_customer_message_at < message.sent_at:
        conversation.last_customer_message_at = message.sent_at  # Meta's window follows every customer message
    session.add(conversation)
    if answer.kind == "rating":
        _rate(session, survey, conversation, answer.rating, message.wa_message_id)
    elif answer.kind == "comment":
        survey.comment, survey.commented_at = (message.body or "").strip()[:COMMENT_MAX], utcnow()
        survey.comment_wa_message_id, survey.status = message.wa_message_id, CsatStatus.DONE
        session.add(survey)
        _say(session, survey, "thanks")


def _rate(session: Session, survey: CsatSurvey, conversation: Conversation, rating: int, wamid: str) -> None:
    now = utcnow()
    minutes = settings.value(session, "csat.comment_minutes", tenant_id=survey.tenant_id)
    survey.rating, survey.rated_at, survey.rating_wa_message_id = rating, now, wamid
    survey.status = CsatStatus.RATED if minutes else CsatStatus.DONE
    survey.comment_until = now + dt.timedelta(minutes=minutes) if minutes else None
    session.add(survey)
    session.flush()
    _say(session, survey, "comment_prompt" if minutes else "thanks")
    outbox.emit(session, survey.tenant_id, "csat.received", webhook_data(survey))
    if rating <= LOW_RATING:
        notify_low_rating(session, survey, conversation)


def _say(session: Session, survey: CsatSurvey, name: str) -> None:
    content = {"type": "text", "body": _text(session, survey.tenant_id, survey.language, name)}
    try:
        outbound.send_message(session, actor=None, tenant_id=survey.tenant_id, conversation_id=survey.conversation_id,
                              content=content, client_key=f"csat-{survey.id}-{name}")
    except CRMError as exc:
        log.warning("CSAT %s for survey %s not queued: %s", name, survey.id, exc)


def webhook_data(survey: CsatSurvey) -> dict[str, Any]:
    """The `csat.received` event's data: ids and the rating, never the customer's words."""
    return {"survey_id": survey.id, "conversation_id": survey.conversation_id, "contact_id": survey.contact_id,
            "inbox_id": survey.inbox_id, "team_id": survey.team_id, "attendant_id": survey.attendant_id,
            "rating": survey.rating, "rated_at": survey.rated_at.isoformat() if survey.rated_at else None}


def supervisors_to_tell(session: Session, survey: CsatSurvey) -> list[User]:
    """The active supervisors of the survey's team; with no team, or nobody there, the tenant's admins."""
    people: list[User] = []
    if survey.team_id is not None:
        people = list(session.exec(select(User).join(TeamMember, TeamMember.user_id == User.id).where(
            TeamMember.team_id == survey.team_id, User.tenant_id == survey.tenant_id, User.role == Role.SUPERVISOR,
            User.is_active.is_(True)).order_by(User.id)).all())
    if not people:
        people = list(session.exec(select(User).where(User.tenant_id == survey.tenant_id, User.role == Role.ADMIN,
                                                      User.is_active.is_(True)).order_by(User.id)).all())
    return people


def notify_low_rating(session: Session, survey: CsatSurvey, conversation: Conversation) -> int:
    """E-mail `supervisors_to_tell` about a rating of 1 or 2, in the caller's transaction. Returns how many."""
    contact, tenant = session.get(Contact, conversation.contact_id), session.get(Tenant, survey.tenant_id)
    attendant = session.get(User, survey.attendant_id) if survey.attendant_id else None
    people = supervisors_to_tell(session, survey)
    for person in people:
        lang = language_of(person.locale, tenant.locale if tenant else None)
        params = {"rating": survey.rating, "conversation": conversation.id,
                  "contact": (contact.name if contact and contact.name else f"…{contact.phone_e164[-4:]}")
                  if contact else "—",
                  "attendant": attendant.name if attendant else translate(lang, "csat.mail.nobody")}
        mail.queue_notification(session, tenant_id=survey.tenant_id, to=person.email, locale=person.locale,
                                user_id=person.id, title=translate(lang, "csat.mail.low.title").format(**params),
                                body=translate(lang, "csat.mail.low.body").format(**params),
                                link=f"{get_settings().app_url.rstrip('/')}/inbox")
    return len(people)
