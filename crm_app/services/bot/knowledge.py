"""Knowledge entries (the tenant's FAQ) and the retrieval that grounds the AI's answers.

Admins keep the entries. Retrieval picks the few active entries that share the most significant
words with the question (accents and case folded, a plural "s" ignored); on PostgreSQL, pg_trgm's
`word_similarity` over the indexed `search_text` shortlists the candidates and breaks ties. Only what
retrieval returns is ever sent to the model.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import func, literal
from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain.search import fold
from crm_app.errors import ValidationError
from crm_app.models import KnowledgeEntry
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_role

MAX_TITLE = 200
MAX_CONTENT = 4000
MAX_TAGS = 10
SHORTLIST = 30
_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about the subject of a pt-BR (or English) customer question.
STOPWORDS = frozenset(
    "a o e de do da dos das em no na nos nas um uma uns umas para pra por com sem que qual quais quando onde "
    "como ha tem ter voce voces vcs meu minha meus minhas seu sua seus suas isso esse essa este esta estao sao "
    "ser pode posso podem gostaria queria quero saber sobre oi ola bom boa dia tarde noite obrigado obrigada "
    "favor ate mais muito tudo algum alguma aqui ai vai vou the is are what when where how do does you your "
    "can i my of to in on for and or it".split()
)


@dataclass(frozen=True)
class KnowledgeRow:
    id: int
    title: str
    content: str
    tags: list[str]
    is_active: bool
    updated_at: dt.datetime


@dataclass(frozen=True)
class KnowledgeHit:
    """One retrieved entry and how well it matched."""

    id: int
    title: str
    content: str
    score: float
    tags: list[str] = field(default_factory=list)


def keywords(text: str) -> set[str]:
    """The significant folded words of `text`; "vagas" and "vaga" count as the same word."""
    found = set()
    for word in _WORD.findall(fold(text)):
        if len(word) < 3 or word in STOPWORDS:
            continue
        found.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return found


def overlap(asked: set[str], found: set[str]) -> int:
    """How many asked words the text has; a shared start of 4+ letters counts ("hora" meets "horario")."""
    return sum(1 for w in asked if w in found or (len(w) >= 4 and any(
        len(f) >= 4 and (f.startswith(w) or w.startswith(f)) for f in found)))


def search_text_for(title: str, content: str, tags: list[str]) -> str:
    """What retrieval matches on: title, tags and content, folded."""
    return fold(" ".join([title, " ".join(tags), content]))


def _row(entry: KnowledgeEntry) -> KnowledgeRow:
    return KnowledgeRow(entry.id, entry.title, entry.content, list(entry.tags or []), entry.is_active,
                        entry.updated_at)


def _clean(title: str, content: str, tags: list[str] | str) -> tuple[str, str, list[str]]:
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationError(f"the title has 1 to {MAX_TITLE} characters", field="title")
    content = (content or "").strip()
    if not content or len(content) > MAX_CONTENT:
        raise ValidationError(f"the content has 1 to {MAX_CONTENT} characters", field="content")
    raw = tags.split(",") if isinstance(tags, str) else list(tags or [])
    cleaned = list(dict.fromkeys(t.strip()[:40] for t in raw if t and t.strip()))
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(f"at most {MAX_TAGS} tags", field="tags")
    return title, content, cleaned


def list_entries(session: Session, *, actor: Actor, query: str | None = None) -> list[KnowledgeRow]:
    """The tenant's entries by title; `query` matches title, tags or text, accents and case aside."""
    require_role(actor, "admin")
    rows = session.exec(select(KnowledgeEntry).where(KnowledgeEntry.tenant_id == actor.tenant_id)
                        .order_by(KnowledgeEntry.title, KnowledgeEntry.id)).all()
    needle = fold(query)
    return [_row(e) for e in rows if not needle or needle in e.search_text]


def create_entry(session: Session, *, actor: Actor, title: str, content: str, tags: list[str] | str = (),
                 is_active: bool = True) -> KnowledgeRow:
    """Add an entry; admins only."""
    require_role(actor, "admin")
    title, content, tags = _clean(title, content, tags)
    entry = KnowledgeEntry(tenant_id=actor.tenant_id, title=title, content=content, tags=tags,
                           is_active=is_active, search_text=search_text_for(title, content, tags),
                           created_by_user_id=actor.user_id)
    session.add(entry)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="knowledge.create",
                 target_type="knowledge_entry", target_id=entry.id, after={"title": title, "active": is_active})
    return _row(entry)


def update_entry(session: Session, *, actor: Actor, entry_id: int, title: str, content: str,
                 tags: list[str] | str = (), is_active: bool = True) -> KnowledgeRow:
    """Change an entry; admins only."""
    require_role(actor, "admin")
    entry = fetch_owned(session, KnowledgeEntry, entry_id, actor=actor, what="knowledge entry")
    title, content, tags = _clean(title, content, tags)
    before = {"title": entry.title, "content": entry.content, "tags": entry.tags, "active": entry.is_active}
    entry.title, entry.content, entry.tags, entry.is_active = title, content, tags, is_active
    entry.search_text, entry.updated_at = search_text_for(title, content, tags), utcnow()
    session.add(entry)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="knowledge.update",
                 target_type="knowledge_entry", target_id=entry.id, before=before,
                 after={"title": title, "content": content, "tags": tags, "active": is_active})
    return _row(entry)


def delete_entry(session: Session, *, actor: Actor, entry_id: int) -> None:
    """Remove an entry; admins only."""
    require_role(actor, "admin")
    entry = fetch_owned(session, KnowledgeEntry, entry_id, actor=actor, what="knowledge entry")
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="knowledge.delete",
                 target_type="knowledge_entry", target_id=entry.id,
                 before={"title": entry.title, "content": entry.content})
    session.delete(entry)


def _candidates(session: Session, tenant_id: int, folded: str) -> list[tuple[KnowledgeEntry, float]]:
    """Active entries with a trigram score: pg_trgm on PostgreSQL, every active entry (score 0) elsewhere."""
    active = (KnowledgeEntry.tenant_id == tenant_id, KnowledgeEntry.is_active)
    if session.get_bind().dialect.name != "postgresql":
        return [(entry, 0.0) for entry in session.exec(select(KnowledgeEntry).where(*active)).all()]
    similarity = func.word_similarity(literal(folded), KnowledgeEntry.search_text)
    rows = session.exec(select(KnowledgeEntry, similarity).where(*active)
                        .order_by(similarity.desc(), KnowledgeEntry.id).limit(SHORTLIST)).all()
    return [(entry, float(score or 0.0)) for entry, score in rows]


def retrieve(session: Session, *, tenant_id: int, question: str, limit: int = 3) -> list[KnowledgeHit]:
    """The most relevant active entries for `question`, best first; empty when none shares a keyword.

    The system calls this for the bot, so it takes a tenant id rather than an actor.
    """
    asked = keywords(question)
    if not asked:
        return []
    hits = []
    for entry, trigram in _candidates(session, tenant_id, " ".join(sorted(asked))):
        shared = overlap(asked, keywords(entry.search_text))
        if not shared:
            continue
        score = shared + 0.5 * overlap(asked, keywords(entry.title)) + trigram
        hits.append(KnowledgeHit(entry.id, entry.title, entry.content, round(score, 3), list(entry.tags or [])))
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits[:limit]


def ensure_entry(session: Session, *, tenant_id: int, title: str, content: str, tags: list[str]) -> bool:
    """Add an entry unless one with this title exists (the demo seed); True when added."""
    found = session.exec(select(KnowledgeEntry.id).where(KnowledgeEntry.tenant_id == tenant_id,
                                                         KnowledgeEntry.title == title)).first()
    if found is not None:
        return False
    title, content, tags = _clean(title, content, tags)
    session.add(KnowledgeEntry(tenant_id=tenant_id, title=title, content=content, tags=tags,
                               search_text=search_text_for(title, content, tags)))
    session.flush()
    return True
