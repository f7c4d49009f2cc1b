"""Human docs for REST API v1: one self-contained HTML page rendered from the OpenAPI document.

Nothing loads from elsewhere (the app must work offline): no scripts, no fonts, inline CSS only, and a
Content-Security-Policy that forbids everything else. Every value from the document is escaped.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
METHOD_COLOURS = {"get": "#0d7d6c", "post": "#1d4ed8", "patch": "#b45309", "put": "#b45309", "delete": "#b91c1c"}
STYLE = """
:root{color-scheme:light dark;--fg:#1c2024;--muted:#60646c;--line:#d9d9e0;--bg:#fff;--soft:#f4f6f8;--accent:#0d7d6c}
@media (prefers-color-scheme:dark){:root{--fg:#edeef0;--muted:#b0b4ba;--line:#363a3f;--bg:#111113;--soft:#1c1d20}}
*{box-sizing:border-box}body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}main{max-width:980px;margin:0 auto;padding:24px 20px 64px}
h1{font-size:28px;margin:0 0 4px}h2{font-size:21px;margin:40px 0 12px;padding-top:8px;border-top:1px solid var(--line)}
h3{font-size:16px;margin:18px 0 6px}a{color:var(--accent)}code,pre{font:13px/1.5 ui-monospace,Menlo,Consolas,monospace}
code{background:var(--soft);padding:1px 5px;border-radius:4px}pre{background:var(--soft);padding:12px;border-radius:8px;
overflow-x:auto;border:1px solid var(--line)}pre code{background:none;padding:0}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:14px}th,td{text-align:left;
vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:600}
.op{border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:14px 0}
.op-head{display:flex;flex-wrap:wrap;gap:10px;align-items:center}.path{font-weight:600;word-break:break-all}
.method{color:#fff;border-radius:6px;padding:2px 8px;font:600 12px/1.6 ui-monospace,monospace;text-transform:uppercase}
td p{margin:0}.scope{margin-left:auto;font-size:13px;color:var(--muted)}.muted{color:var(--muted)}.req{color:#b91c1c}
nav ul{columns:2;padding-left:18px}@media (max-width:640px){nav ul{columns:1}.scope{margin-left:0}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _prose(text: str | None) -> str:
    """A little Markdown: paragraphs, **bold** and `code`, applied after escaping."""
    parts = []
    for paragraph in re.split(r"\n\s*\n", (text or "").strip()):
        if not paragraph:
            continue
        escaped = _e(" ".join(paragraph.split()))
        escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
        escaped = re.sub(r"\*(.+?)\*", r"<em>\1</em>", escaped)
        parts.append("<p>" + re.sub(r"`(.+?)`", r"<code>\1</code>", escaped) + "</p>")
    return "".join(parts)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(kind: str, name: str) -> str:
    return kind + "-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def type_label(schema: dict[str, Any]) -> str:
    """A short HTML label for a schema: `integer`, `list of Message`, `string | null`."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#{_anchor("schema", name)}">{_e(name)}</a>'
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(type_label(s) for s in schema[key])
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{_e(v)}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{_e(json.dumps(schema['const']))}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return "list of " + type_label(schema.get("items") or {})
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return "object of " + type_label(schema["additionalProperties"])
    label = _e(kind)
    if schema.get("format"):
        label += f" <span class='muted'>({_e(schema['format'])})</span>"
    return label


def _limits(schema: dict[str, Any]) -> str:
    found = []
    for key, text in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "min length"), ("maxLength", "max length"),
                      ("pattern", "pattern"), ("default", "default")):
        if key in schema:
            found.append(f"{_e(text)} <code>{_e(json.dumps(schema[key], ensure_ascii=False))}</code>")
    for option in schema.get("anyOf", []):
        found.extend(_limits(option).split("; ") if _limits(option) else [])
    return "; ".join(found)


def example(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A plausible example value for `schema`."""
    if depth > 6:
        return None
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        return schema["examples"][0]
    if "$ref" in schema:
        return example(components.get(_ref_name(schema["$ref"]), {}), components, depth + 1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example(options[0], components, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: example(prop, components, depth + 1) for name, prop in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [example(schema.get("items") or {}, components, depth + 1)]
    return {"integer": 1, "number": 1.0, "boolean": False,
            "string": "2025-01-31T14:02:00Z" if schema.get("format") == "date-time" else "string"}.get(kind)


def _json_block(value: Any) -> str:
    return f"<pre><code>{_e(json.dumps(value, indent=2, ensure_ascii=False))}</code></pre>"


def _parameters(parameters: list[dict[str, Any]]) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{_e(p['name'])}</code>{' <span class=req>*</span>' if p.get('required') else ''}</td>"
        f"<td>{_e(p.get('in', ''))}</td><td>{type_label(p.get('schema') or {})}</td>"
        f"<td>{_prose(p.get('description') or (p.get('schema') or {}).get('description'))}"
        f"{('<div class=muted>' + _limits(p.get('schema') or {}) + '</div>') if _limits(p.get('schema') or {}) else ''}"
        f"</td></tr>" for p in parameters)
    return ("<h3>Parameters</h3><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")


def _request_body(body: dict[str, Any] | None, components: dict[str, Any]) -> str:
    if not body:
        return ""
    media = (body.get("content") or {}).get("application/json") or {}
    schema = media.get("schema") or {}
    out = [f"<h3>Request body{' <span class=req>*</span>' if body.get('required') else ''}</h3>",
           f"<p>JSON: {type_label(schema)}</p>"]
    examples = media.get("examples") or {}
    if examples:
        for item in examples.values():
            out.append(f"<p class=muted>{_e(item.get('summary', 'Example'))}</p>{_json_block(item.get('value'))}")
    else:
        out.append(_json_block(example(schema, components)))
    return "".join(out)


def _responses(responses: dict[str, Any], components: dict[str, Any]) -> str:
    rows, success = [], None
    for code, response in sorted(responses.items()):
        schema = ((response.get("content") or {}).get("application/json") or {}).get("schema") or {}
        rows.append(f"<tr><td><code>{_e(code)}</code></td><td>{_e(response.get('description', ''))}</td>"
                    f"<td>{type_label(schema) if schema else ''}</td></tr>")
        if success is None and str(code).startswith("2") and schema:
            success = schema
    out = ("<h3>Responses</h3><table><thead><tr><th>Status</th><th>Meaning</th><th>Body</th></tr></thead>"
           f"<tbody>{''.join(rows)}</tbody></table>")
    if success is not None:
        out += "<p class=muted>Example response</p>" + _json_block(example(success, components))
    return out


def _operation(method: str, path: str, op: dict[str, Any], components: dict[str, Any]) -> str:
    scopes = [s for requirement in op.get("security") or [] for values in requirement.values() for s in values]
    scope = f"<span class=scope>scope <code>{_e(', '.join(scopes))}</code></span>" if scopes else ""
    colour = METHOD_COLOURS.get(method, "#444")
    anchor = _anchor("op", f"{method}-{path}")
    return (f'<section class=op id="{anchor}"><div class=op-head>'
            f'<span class=method style="background:{colour}">{_e(method)}</span>'
            f'<span class=path>{_e(path)}</span>{scope}</div>'
            f"<p><strong>{_e(op.get('summary', ''))}</strong></p>{_prose(op.get('description'))}"
            f"{_parameters(op.get('parameters') or [])}{_request_body(op.get('requestBody'), components)}"
            f"{_responses(op.get('responses') or {}, components)}</section>")


def _schema(name: str, schema: dict[str, Any], components: dict[str, Any]) -> str:
    required = set(schema.get("required") or [])
    properties = schema.get("properties") or {}
    rows = "".join(
        f"<tr><td><code>{_e(prop)}</code>{' <span class=req>*</span>' if prop in required else ''}</td>"
        f"<td>{type_label(spec)}</td><td>{_prose(spec.get('description'))}"
        f"{('<div class=muted>' + _limits(spec) + '</div>') if _limits(spec) else ''}</td></tr>"
        for prop, spec in properties.items())
    table = (f"<table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>{rows}"
             "</tbody></table>") if rows else ""
    return (f'<section id="{_anchor("schema", name)}"><h3>{_e(name)}</h3>{_prose(schema.get("description"))}'
            f"{table}</section>")


def render_docs(openapi: dict[str, Any], *, base_path: str) -> str:
    """The whole docs page for `openapi`, whose paths live under `base_path`."""
    info = openapi.get("info") or {}
    components = (openapi.get("components") or {}).get("schemas") or {}
    schemes = (openapi.get("components") or {}).get("securitySchemes") or {}
    operations = [(method, base_path + path, op) for path, item in (openapi.get("paths") or {}).items()
                  for method, op in item.items() if method in METHOD_COLOURS]
    toc = "".join(f'<li><a href="#{_anchor("op", f"{m}-{p}")}"><code>{_e(m.upper())} {_e(p)}</code></a></li>'
                  for m, p, _ in operations)
    auth = "".join(f"<p><code>{_e(name)}</code>: HTTP <code>{_e(s.get('scheme', ''))}</code>.</p>"
                   f"{_prose(s.get('description'))}" for name, s in schemes.items())
    sample = (f"curl -H 'Authorization: Bearer crm_…' \\\n     '{base_path}/conversations?tab=unassigned&limit=20'")
    return "".join([
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'><meta name=referrer content=no-referrer>",
        f"<title>{_e(info.get('title', 'API'))} · v{_e(info.get('version', ''))}</title><style>{STYLE}</style>",
        "</head><body><main>",
        f"<h1>{_e(info.get('title', 'API'))}</h1><p class=muted>Version {_e(info.get('version', ''))} · base path "
        f"<code>{_e(base_path)}</code> · machine-readable: <a href='{_e(base_path)}/openapi.json'>openapi.json</a></p>",
        _prose(info.get("description")),
        f"<h2 id=auth>Authentication</h2>{auth}{_json_block_text(sample)}",
        f"<h2 id=endpoints>Endpoints</h2><nav><ul>{toc}</ul></nav>",
        "".join(_operation(m, p, op, components) for m, p, op in operations),
        "<h2 id=schemas>Schemas</h2>",
        "".join(_schema(name, schema, components) for name, schema in components.items()),
        "</main></body></html>",
    ])


def _json_block_text(text: str) -> str:
    return f"<pre><code>{_e(text)}</code></pre>"
