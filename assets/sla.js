// The inbox's SLA countdown chips tick here, every second, with no round-trip to the server: each element with
// data-sla-due (epoch ms) gets its words ("12 min", "2 h 5 min", "estourado há 3 min") and its colour (green; amber
// in the last 20 % of [data-sla-start, data-sla-due]; red once past) from the browser's clock. The server draws
// the first state with the same rules (crm_app/domain/inbox.py: sla_level, duration_words). React owns these
// nodes, so only the text node's value, a few attributes and classes change here; a fresh render from the server
// simply starts from newer values.
(function () {
  if (window.crmSla) return;
  const RISK_SHARE = 0.2;
  const COLOURS = { ok: "green", risk: "amber", late: "red" };

  function words(ms) {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 1) return "< 1 min";
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return minutes % 60 ? hours + " h " + (minutes % 60) + " min" : hours + " h";
    const days = Math.floor(hours / 24);
    return hours % 24 ? days + " d " + (hours % 24) + " h" : days + " d";
  }

  function level(now, due, start) {
    if (now >= due) return "late";
    if (start && due - now <= (due - start) * RISK_SHARE) return "risk";
    return "ok";
  }

  function paint(chip, now) {
    const due = Number(chip.dataset.slaDue);
    if (!due) return;
    const lvl = level(now, due, Number(chip.dataset.slaStart) || 0);
    const text = lvl === "late" ? (chip.dataset.overdue || "{x}").replace("{x}", words(now - due)) : words(due - now);
    const span = chip.querySelector(".sla-text");
    const node = span && span.firstChild;
    if (node && node.nodeType === Node.TEXT_NODE) {
      if (node.nodeValue !== text) node.nodeValue = text;
    } else if (span && span.textContent !== text) {
      span.textContent = text;
    }
    if (chip.dataset.level !== lvl) chip.dataset.level = lvl;
    if (chip.getAttribute("data-accent-color") !== COLOURS[lvl]) chip.setAttribute("data-accent-color", COLOURS[lvl]);
    for (const name of ["ok", "risk", "late"]) chip.classList.toggle("sla-" + name, name === lvl);
    chip.classList.toggle("rt-variant-solid", lvl === "late");
    chip.classList.toggle("rt-variant-soft", lvl !== "late");
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-sla-due]").forEach((chip) => paint(chip, now));
  }

  window.crmSla = { tick, words, level };
  setInterval(tick, 1000);
  tick();
})();
