// Customer simulator: plays the customer's phone against the sandbox's control API.
// Every piece of customer or business text reaches the DOM through textContent only.
"use strict";

(function () {
  const API = "/sandbox/api";
  const POLL_MS = 1000;
  const CONTACTS_KEY = "sandbox-simulator-contacts";
  const CURRENT_KEY = "sandbox-simulator-current";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PIN_PATH = "M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z";
  const REACTIONS = ["\u{1F44D}", "\u2764\uFE0F", "\u{1F602}", "\u{1F64F}"];
  const TICKS = { pending: "\u25F7", sent: "\u2713", delivered: "\u2713\u2713", read: "\u2713\u2713", failed: "!", error: "!" };
  const STATUS_LABEL = {
    pending: "aguardando", sent: "enviada", delivered: "entregue", read: "lida", failed: "falhou",
    error: "webhook não entregue",
  };

  const state = { contacts: [], current: null, threadKey: "", errorSource: null, info: null };
  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function digits(value) {
    return String(value || "").replace(/\D+/g, "");
  }

  function formatPhone(number) {
    const d = digits(number);
    if (d.startsWith("55") && (d.length === 12 || d.length === 13)) {
      const local = d.slice(4);
      return "+55 " + d.slice(2, 4) + " " + local.slice(0, -4) + "-" + local.slice(-4);
    }
    return "+" + d;
  }

  function timeOf(iso) {
    const date = new Date(iso);
    return isNaN(date.getTime()) ? "" : date.toLocaleTimeString("pt-BR", { hour: "2-digit", minute: "2-digit" });
  }

  function dayAndTime(iso) {
    const date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    return date.toLocaleDateString("pt-BR", { day: "2-digit", month: "2-digit" }) + " às " + timeOf(iso);
  }

  function initials(name) {
    const parts = String(name || "?").trim().split(/\s+/)
      .map((word) => word.replace(/[^\p{L}\p{N}]/gu, "")).filter(Boolean);
    return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
  }

  async function api(path, options) {
    const response = await fetch(API + path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    return { ok: response.ok, status: response.status, body: body };
  }

  function postJson(path, payload) {
    return api(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
  }

  // ---- error line ----

  function showError(message, source) {
    const line = $("error-line");
    line.textContent = message;
    line.hidden = false;
    state.errorSource = source || "other";
  }

  function clearError(source) {
    if (source && state.errorSource !== source) return;
    $("error-line").hidden = true;
    $("error-line").textContent = "";
    state.errorSource = null;
  }

  function webhookProblem(status, error) {
    if (status === null || status === undefined) {
      return "O CRM está fora do ar: o webhook não foi entregue (" + (error || "sem resposta") +
        "). O sandbox vai tentar de novo.";
    }
    return "O CRM respondeu HTTP " + status + " ao webhook (o esperado é 200). O sandbox vai tentar de novo.";
  }

  // ---- contacts ----

  function loadContacts() {
    try {
      const stored = JSON.parse(localStorage.getItem(CONTACTS_KEY) || "[]");
      return Array.isArray(stored) ? stored.filter((c) => c && c.wa_id) : [];
    } catch (err) {
      return [];
    }
  }

  function saveContacts() {
    localStorage.setItem(CONTACTS_KEY, JSON.stringify(state.contacts));
    if (state.current) localStorage.setItem(CURRENT_KEY, state.current.wa_id);
  }

  function upsertContact(waId, name) {
    let contact = state.contacts.find((c) => c.wa_id === waId);
    if (!contact) {
      contact = { wa_id: waId, name: name || "Cliente " + waId.slice(-4) };
      state.contacts.push(contact);
    } else if (name) {
      contact.name = name;
    }
    return contact;
  }

  function renderContacts() {
    const list = $("contact-list");
    list.replaceChildren();
    for (const contact of state.contacts) {
      const button = el("button", "contact" + (state.current && state.current.wa_id === contact.wa_id ? " active" : ""));
      button.type = "button";
      button.append(el("span", "avatar", initials(contact.name)));
      const text = el("span", "contact-text");
      text.append(el("span", "contact-name", contact.name), el("span", "contact-phone", formatPhone(contact.wa_id)));
      button.append(text);
      button.addEventListener("click", () => selectContact(contact.wa_id));
      const item = el("li");
      item.append(button);
      list.append(item);
    }
  }

  function selectContact(waId) {
    state.current = state.contacts.find((c) => c.wa_id === waId) || null;
    state.threadKey = "";
    clearError();
    saveContacts();
    renderContacts();
    renderHeader(null);
    $("messages").replaceChildren();
    setComposerEnabled(Boolean(state.current));
    poll(true);
  }

  async function refreshCustomers() {
    try {
      const res = await api("/customers");
      if (!res.ok || !Array.isArray(res.body)) return;
      let changed = false;
      for (const customer of res.body) {
        if (!state.contacts.find((c) => c.wa_id === customer.wa_id)) {
          upsertContact(customer.wa_id, customer.name);
          changed = true;
        }
      }
      if (changed) {
        saveContacts();
        renderContacts();
      }
    } catch (err) {
      // the poll reports connectivity problems
    }
  }

  function addContact(event) {
    event.preventDefault();
    const waId = digits($("contact-phone").value);
    const name = $("contact-name").value.trim();
    const problem = $("contact-error");
    if (waId.length < 10 || waId.length > 15) {
      problem.textContent = "Informe o telefone com DDI e DDD (10 a 15 dígitos), ex.: 5511981234567.";
      problem.hidden = false;
      return;
    }
    if (!name) {
      problem.textContent = "Informe o nome do contato.";
      problem.hidden = false;
      return;
    }
    problem.hidden = true;
    upsertContact(waId, name);
    $("contact-phone").value = "";
    $("contact-name").value = "";
    selectContact(waId);
  }

  // ---- sending ----

  async function sendCustomerMessage(payload) {
    if (!state.current) {
      showError("Escolha ou crie um contato primeiro.");
      return false;
    }
    const message = Object.assign({ from: state.current.wa_id, name: state.current.name }, payload);
    try {
      const res = await postJson("/customer/messages", message);
      if (!res.ok) {
        showError("O sandbox recusou a mensagem: " + ((res.body && res.body.error) || "HTTP " + res.status));
        return false;
      }
      if (res.body.webhook_status === 200) clearError();
      else showError(webhookProblem(res.body.webhook_status, res.body.webhook_error), "webhook");
      await poll(true);
      return true;
    } catch (err) {
      showError("Não foi possível falar com o sandbox (" + err.message + ").");
      return false;
    }
  }

  async function sendText(event) {
    event.preventDefault();
    const input = $("text");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    const ok = await sendCustomerMessage({ type: "text", text: text });
    if (!ok) input.value = text;
    input.focus();
  }

  async function sendImage() {
    const input = $("file");
    const file = input.files && input.files[0];
    input.value = "";
    if (!file || !state.current) return;
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("type", file.type);
    try {
      const res = await api("/customer/media", { method: "POST", body: form });
      if (!res.ok) {
        showError("Imagem recusada: " + ((res.body && res.body.error) || "HTTP " + res.status));
        return;
      }
      const caption = $("text").value;
      $("text").value = "";
      await sendCustomerMessage({ type: "image", media_id: res.body.media_id, caption: caption });
    } catch (err) {
      showError("Não foi possível enviar a imagem (" + err.message + ").");
    }
  }

  async function sendLocation(event) {
    event.preventDefault();
    const latitude = parseFloat($("loc-lat").value.replace(",", "."));
    const longitude = parseFloat($("loc-lng").value.replace(",", "."));
    if (isNaN(latitude) || isNaN(longitude)) {
      showError("Latitude e longitude precisam ser números, ex.: -22.7394 e -45.5912.");
      return;
    }
    const location = { latitude: latitude, longitude: longitude,
      name: $("loc-name").value.trim(), address: $("loc-address").value.trim() };
    if (await sendCustomerMessage({ type: "location", location: location })) $("location-panel").hidden = true;
  }

  function reply(item, action) {
    if (action.kind === "button_reply") {
      return sendCustomerMessage({ type: "button_reply", reply_to: item.wamid, button_id: action.id, title: action.title });
    }
    if (action.kind === "quick_reply") {
      return sendCustomerMessage({ type: "button", reply_to: item.wamid, payload: action.id, text: action.title });
    }
    if (action.kind === "url" && /^https?:\/\//i.test(String(action.id || ""))) {
      window.open(action.id, "_blank", "noopener");
    }
    return null;
  }

  // ---- thread ----

  async function poll(force) {
    if (!state.current) return;
    const waId = state.current.wa_id;
    let res;
    try {
      res = await api("/thread?wa_id=" + encodeURIComponent(waId));
    } catch (err) {
      showError("Sem conexão com o sandbox. Ele está rodando?", "poll");
      return;
    }
    clearError("poll");
    if (!res.ok || !state.current || state.current.wa_id !== waId) return;
    const key = JSON.stringify(res.body);
    if (!force && key === state.threadKey) return;
    state.threadKey = key;
    if (res.body.name && res.body.name !== state.current.name) {
      state.current.name = res.body.name;
      saveContacts();
      renderContacts();
    }
    renderHeader(res.body);
    renderThread(res.body.items || []);
    reportLatestWebhook(res.body.items || []);
  }

  function reportLatestWebhook(items) {
    const inbound = items.filter((i) => i.direction === "in");
    const last = inbound[inbound.length - 1];
    if (last && last.status === "error") showError(webhookProblem(last.webhook_status, last.webhook_error), "webhook");
    else if (last && (last.status === "delivered" || last.status === "read")) clearError("webhook");
  }

  function renderHeader(thread) {
    const contact = state.current;
    $("chat-avatar").textContent = contact ? initials(contact.name) : "";
    $("chat-name").textContent = contact ? contact.name : "Escolha um contato";
    $("chat-sub").textContent = contact ? formatPhone(contact.wa_id) : "";
    const badge = $("chat-window");
    if (!thread || !thread.window) {
      badge.hidden = true;
      return;
    }
    badge.hidden = false;
    badge.classList.toggle("closed", !thread.window.open);
    badge.textContent = thread.window.open
      ? "Janela de 24h aberta até " + dayAndTime(thread.window.closes_at)
      : "Janela de 24h fechada: a empresa só pode enviar templates";
  }

  function renderThread(items) {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    const byWamid = new Map(items.map((i) => [i.wamid, i]));
    const reactions = new Map();
    for (const item of items) {
      const reaction = item.display && item.display.reaction;
      if (reaction && byWamid.has(reaction.message_id)) reactions.set(reaction.message_id, reaction.emoji || "");
    }
    const interactive = items.filter((i) => i.direction === "out" && hasActions(i.display)).pop();
    box.replaceChildren();
    if (!items.length) box.append(el("div", "empty", "Nenhuma mensagem ainda. Escreva como se fosse o cliente."));
    for (const item of items) {
      const reaction = item.display && item.display.reaction;
      if (reaction && byWamid.has(reaction.message_id)) continue;
      box.append(renderRow(item, item === interactive, reactions.get(item.wamid), byWamid));
    }
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function hasActions(display) {
    return Boolean(display && ((display.buttons && display.buttons.length) || display.list));
  }

  function renderRow(item, active, reaction, byWamid) {
    // The page is the customer's phone: the customer's messages go right, the business's left.
    const row = el("div", "row " + (item.direction === "in" ? "out" : "in"));
    const bubble = el("div", "bubble");
    fillBubble(bubble, item.display || {}, byWamid);
    bubble.append(renderMeta(item));
    if (item.failure) bubble.append(el("div", "failure", "Falhou: " + (item.failure.title || "") + " (" + item.failure.code + ")"));
    row.append(bubble);
    if (reaction) row.append(el("span", "reaction-badge", reaction));
    if (hasActions(item.display)) row.append(renderActions(item, active));
    if (item.direction === "out") row.append(renderReactionPicker(item));
    return row;
  }

  function fillBubble(bubble, display, byWamid) {
    if (display.reply_to) {
      const quoted = byWamid.get(display.reply_to);
      bubble.append(el("div", "quote", quoted ? summary(quoted.display || {}) : "Mensagem"));
    }
    if (display.template) bubble.append(el("div", "template-tag", "Template · " + display.template));
    if (display.header) bubble.append(el("div", "header", display.header));
    if (display.media_id || display.media_link) bubble.append(renderMedia(display));
    if (display.location) bubble.append(renderLocation(display.location));
    if (display.contacts) bubble.append(el("div", "", "Contato: " + display.contacts.join(", ")));
    if (display.reaction) bubble.append(el("div", "", "Reagiu com " + (display.reaction.emoji || "(removida)")));
    const text = display.text || display.caption;
    if (text) bubble.append(el("div", "text", text));
    if (display.footer) bubble.append(el("div", "footer", display.footer));
  }

  function summary(display) {
    return display.text || display.caption || (display.location && "Localização") ||
      (display.media_id && "Mídia") || "Mensagem";
  }

  function renderMedia(display) {
    const mime = String(display.mime_type || "");
    if (display.media_id && (mime.startsWith("image/") || !mime)) {
      const img = el("img");
      img.alt = display.caption || "Imagem";
      img.src = API + "/media/" + encodeURIComponent(display.media_id);
      return img;
    }
    const label = display.filename || (display.media_link ? display.media_link : "Arquivo " + mime);
    return el("div", "attachment", "\u{1F4CE} " + label);
  }

  function renderLocation(location) {
    const box = el("div", "location");
    const pin = el("div", "pin");
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", PIN_PATH);
    svg.append(path);
    pin.append(svg);
    const text = el("div");
    text.append(el("div", "header", location.name || "Localização"));
    if (location.address) text.append(el("div", "", location.address));
    text.append(el("div", "coords", location.latitude + ", " + location.longitude));
    box.append(pin, text);
    return box;
  }

  function renderMeta(item) {
    const meta = el("div", "meta");
    meta.append(el("span", "", timeOf(item.at)));
    const status = item.status || "pending";
    const ticks = el("span", "ticks " + status, TICKS[status] || "");
    ticks.title = STATUS_LABEL[status] || status;
    meta.append(ticks);
    return meta;
  }

  function renderActions(item, active) {
    const box = el("div", "actions");
    const display = item.display;
    for (const action of display.buttons || []) {
      const button = el("button", "action", action.title);
      button.type = "button";
      button.disabled = !active && action.kind !== "url";
      button.addEventListener("click", () => reply(item, action));
      box.append(button);
    }
    if (display.list) {
      const button = el("button", "action", "\u2630 " + (display.list.button || "Opções"));
      button.type = "button";
      button.disabled = !active;
      button.addEventListener("click", () => openList(item));
      box.append(button);
    }
    return box;
  }

  function renderReactionPicker(item) {
    const box = el("div", "reactions");
    for (const emoji of REACTIONS) {
      const button = el("button", "reaction-button", emoji);
      button.type = "button";
      button.title = "Reagir com " + emoji;
      button.addEventListener("click", () => sendCustomerMessage({ type: "reaction", message_id: item.wamid, emoji: emoji }));
      box.append(button);
    }
    return box;
  }

  function openList(item) {
    const list = item.display.list;
    $("sheet-title").textContent = list.button || "Opções";
    const body = $("sheet-body");
    body.replaceChildren();
    for (const section of list.sections || []) {
      if (section.title) body.append(el("div", "sheet-section", section.title));
      for (const row of section.rows || []) {
        const button = el("button", "sheet-row");
        button.type = "button";
        button.append(el("span", "row-title", row.title));
        if (row.description) button.append(el("span", "row-description", row.description));
        button.addEventListener("click", () => {
          closeList();
          sendCustomerMessage({ type: "list_reply", reply_to: item.wamid, row_id: row.id, title: row.title,
            description: row.description || undefined });
        });
        body.append(button);
      }
    }
    $("list-sheet").hidden = false;
  }

  function closeList() {
    $("list-sheet").hidden = true;
  }

  // ---- setup ----

  function setComposerEnabled(enabled) {
    for (const id of ["text", "send", "attach", "location-toggle"]) $(id).disabled = !enabled;
  }

  async function loadInfo() {
    try {
      const res = await api("/info");
      if (!res.ok) return;
      state.info = res.body;
      $("biz-info").textContent = "Empresa " + res.body.display_number + " · phone_number_id " +
        res.body.phone_number_id + " · webhooks para " + res.body.webhook_url;
    } catch (err) {
      $("biz-info").textContent = "Sandbox indisponível";
    }
  }

  function start() {
    state.contacts = loadContacts();
    if (!state.contacts.length) upsertContact("5511981234567", "Maria Silva");
    const saved = localStorage.getItem(CURRENT_KEY);
    state.current = state.contacts.find((c) => c.wa_id === saved) || state.contacts[0];
    saveContacts();
    renderContacts();
    renderHeader(null);
    setComposerEnabled(Boolean(state.current));
    $("new-contact").addEventListener("submit", addContact);
    $("composer").addEventListener("submit", sendText);
    $("attach").addEventListener("click", () => $("file").click());
    $("file").addEventListener("change", sendImage);
    $("location-toggle").addEventListener("click", () => { $("location-panel").hidden = !$("location-panel").hidden; });
    $("loc-cancel").addEventListener("click", () => { $("location-panel").hidden = true; });
    $("location-panel").addEventListener("submit", sendLocation);
    $("sheet-close").addEventListener("click", closeList);
    $("list-sheet").addEventListener("click", (event) => { if (event.target === $("list-sheet")) closeList(); });
    loadInfo();
    refreshCustomers();
    poll(true);
    setInterval(poll, POLL_MS);
    setInterval(refreshCustomers, 3 * POLL_MS);
  }

  start();
})();
