// The API keys page: create (shown once), list by prefix, revoke; all through /api/v1/api-keys.
"use strict";

(function () {
  const body = document.querySelector("#keys tbody");
  const problem = document.getElementById("keys-error");

  function fail(error) {
    problem.textContent = error.message;
    problem.hidden = false;
  }

  function row(key) {
    const revoke = key.revokedAt ? null : kw.el("button", {type: "button", class: "danger", "data-revoke": key.id,
                                                          "aria-label": `Revoke ${key.prefix}… (${key.name})`}, "Revoke");
    // data-label names each cell in the narrow layout, where rows are cards without the header row.
    return kw.el("tr", {"data-id": key.id},
      kw.el("td", {class: "lead"}, kw.el("code", {}, key.prefix + "…"), " ", key.name || "–"),
      kw.el("td", {"data-label": "Scope"}, key.scope),
      kw.el("td", {"data-label": "Created"}, kw.time(key.createdAt, "data-local")),
      kw.el("td", {"data-label": "Last used", class: "last-used"}, kw.time(key.lastUsedAt)),
      kw.el("td", {"data-label": "State"}, key.revokedAt ? kw.el("span", {}, "revoked ", kw.time(key.revokedAt)) : "active"),
      kw.el("td", {class: "actions"}, revoke));
  }

  async function load() {
    const keys = await kw.api("GET", "/api/v1/api-keys");
    body.replaceChildren(...(keys.length ? keys.map(row)
      : [kw.el("tr", {}, kw.el("td", {colspan: 6, class: "muted"}, "No keys yet."))]));
  }

  document.getElementById("create-key").addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const name = document.getElementById("key-name");
    try {
      kw.showNewKey(await kw.api("POST", "/api/v1/api-keys",
                                 {name: name.value, scope: document.getElementById("key-scope").value}));
      name.value = "";
      await load();
    } catch (error) { fail(error); }
  });

  body.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-revoke]");
    if (!button) return;
    const label = button.getAttribute("aria-label").replace(/^Revoke /, "");
    if (!confirm(`Revoke the key ${label}? Agents can no longer register with it.`)) return;
    try {
      await kw.api("DELETE", "/api/v1/api-keys/" + encodeURIComponent(button.dataset.revoke));
      await load();
    } catch (error) { fail(error); }
  });

  load().catch(fail);
  setInterval(() => kw.refreshTimes(body), 1000);
})();
