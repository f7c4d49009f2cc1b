// The inbox's small browser-side helpers: keyboard shortcuts, Enter to send, typing pings,
// heartbeats, notifications with a sound, the unread count in the tab title, and keeping the
// history scrolled to the newest message. Events reach the server by clicking hidden buttons,
// so every action still goes through a normal Reflex event handler.
(function () {
  if (window.crmInbox) return;
  const byId = (id) => document.getElementById(id);
  const click = (id) => { const el = byId(id); if (el) el.click(); };
  let lastTyping = 0;
  let lastNotify = null;
  let lastCount = null;
  let lastConv = null;
  let stickToBottom = true;
  // While older messages load above, keep the message under the reader's eyes where it is.
  let olderAnchor = null;

  const composer = () => byId("composer-text");

  window.crmInbox = {
    // A canned response goes into the composer at the cursor.
    insert(text) {
      const el = composer();
      if (!el) return;
      const start = el.selectionStart ?? el.value.length;
      const end = el.selectionEnd ?? el.value.length;
      let before = el.value.slice(0, start);
      if (before === "/") before = "";
      el.value = before + text + el.value.slice(end);
      el.focus();
      const pos = before.length + text.length;
      el.setSelectionRange(pos, pos);
    },
    // After a failed send the text comes back so nothing typed is lost.
    restore(text) {
      const el = composer();
      if (el && !el.value) el.value = text;
    },
    sent() { stickToBottom = true; scrollDown(); },
    opened() {
      stickToBottom = true;
      setTimeout(scrollDown, 30);
      const el = composer();
      if (el && window.innerWidth >= 768) el.focus();
    },
  };

  function scrollDown() {
    const box = byId("chat-scroll");
    if (box) box.scrollTop = box.scrollHeight;
  }

  function typingTarget(t) {
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t && t.id === "composer-text") {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (t.value.trim()) click("composer-send");
        return;
      }
      if (e.key === "/" && t.value === "") {
        e.preventDefault();
        click("canned-open");
        return;
      }
      if (e.key === "Escape") { t.blur(); click("conv-escape"); return; }
      const now = Date.now();
      if (now - lastTyping > 3000 && e.key.length === 1) {
        lastTyping = now;
        click("typing-ping");
      }
    }
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
      e.preventDefault();
      const s = byId("inbox-search");
      if (s) { s.focus(); s.select(); }
      return;
    }
    if (e.altKey && e.key === "ArrowDown") { e.preventDefault(); click("conv-next"); return; }
    if (e.altKey && e.key === "ArrowUp") { e.preventDefault(); click("conv-prev"); return; }
    if (e.altKey && (e.key === "e" || e.key === "E" || e.code === "KeyE")) {
      e.preventDefault(); click("close-button"); return;
    }
    if (typingTarget(t)) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j") { click("conv-next"); }
    else if (e.key === "k") { click("conv-prev"); }
    else if (e.key === "/") {
      e.preventDefault();
      const s = byId("inbox-search");
      if (s) s.focus();
    } else if (e.key === "r") {
      const el = composer();
      if (el) { e.preventDefault(); el.focus(); }
    } else if (e.key === "Escape") { click("conv-escape"); }
  }, true);

  // A fresh idempotency key for each submit of the composer, so a double submit sends once.
  document.addEventListener("submit", (e) => {
    if (e.target && e.target.id === "composer") {
      const key = byId("composer-key");
      if (key) key.value = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    }
  }, true);

  // Ask for notification permission on the first click anywhere (browsers require a gesture).
  document.addEventListener("click", () => {
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().catch(() => {});
    }
  }, { once: true, capture: true });

  document.addEventListener("scroll", (e) => {
    const box = e.target;
    if (box && box.id === "chat-scroll") {
      stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
      // Reaching the top loads the previous page by itself; the button stays as a fallback.
      const older = byId("load-older");
      if (box.scrollTop < 60 && older && !older.disabled && olderAnchor === null
          && box.scrollHeight > box.clientHeight) {
        const end = byId("messages-end");
        olderAnchor = { height: box.scrollHeight, top: box.scrollTop, count: end ? end.dataset.count : null,
                        at: Date.now() };
        older.click();
      }
    }
  }, true);

  function notify(signal) {
    const sound = byId("notify-sound");
    if (sound) { sound.currentTime = 0; sound.play().catch(() => {}); }
    if (document.hidden && "Notification" in window && Notification.permission === "granted") {
      try {
        const n = new Notification(signal.dataset.title || "Atende CRM", { body: signal.dataset.body || "",
                                                                          tag: "crm-inbox" });
        n.onclick = () => { window.focus(); n.close(); };
      } catch (err) { /* some browsers only allow notifications from a service worker */ }
    }
  }

  setInterval(() => {
    const signal = byId("notify-signal");
    if (signal) {
      const seq = signal.dataset.seq;
      if (lastNotify !== null && seq !== lastNotify && seq !== "0") notify(signal);
      lastNotify = seq;
      if (signal.dataset.pagetitle && document.title !== signal.dataset.pagetitle) {
        document.title = signal.dataset.pagetitle;
      }
    }
    const end = byId("messages-end");
    if (end) {
      const count = end.dataset.count, conv = end.dataset.conv;
      if (conv !== lastConv) { stickToBottom = true; olderAnchor = null; }
      if (olderAnchor !== null) {
        const box = byId("chat-scroll");
        if (box && count !== olderAnchor.count) {
          box.scrollTop = box.scrollHeight - olderAnchor.height + olderAnchor.top;
          olderAnchor = null;
        } else if (Date.now() - olderAnchor.at > 8000) {
          olderAnchor = null;  // nothing came back; let the next scroll try again
        }
      } else if ((count !== lastCount || conv !== lastConv) && stickToBottom) scrollDown();
      lastCount = count; lastConv = conv;
    }
  }, 150);

  setInterval(() => click("presence-heartbeat"), 20000);
})();
