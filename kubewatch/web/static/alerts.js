// The Alerts page: what fires, the history, rules, channels and silences, all through the JSON API;
// admins get the forms that change them, viewers read.
"use strict";

(function () {
  const root = document.getElementById("alerts-page");
  const admin = root.dataset.admin === "true";
  const choices = JSON.parse(document.getElementById("alerts-choices").textContent);
  const agentNames = new Map(choices.agents.map((a) => [a.id, a.name]));
  const problem = document.getElementById("alerts-error");
  let rules = [], channels = [];

  function fail(error) { problem.textContent = error.message; problem.hidden = false; }

  const cell = (label, ...children) => kw.el("td", {"data-label": label}, ...children);
  const button = (text, attributes) => kw.el("button", {type: "button", ...attributes}, text);
  const empty = (columns, text) => [kw.el("tr", {}, kw.el("td", {colspan: columns, class: "muted"}, text))];
  const agentLink = (id, name) => kw.el("a", {href: kw.root + "/agents/" + encodeURIComponent(id)}, name || id);

  function fill(id, rows, columns, none) {
    document.querySelector(`#${id} tbody`).replaceChildren(...(rows.length ? rows : empty(columns, none)));
  }

  function firingRow(a) {
    return kw.el("tr", {"data-id": a.id},
      kw.el("td", {class: "lead"}, kw.el("span", {class: "badge firing"}, "firing"), " ", a.ruleName),
      cell("Agent", agentLink(a.agentId, a.agentName)),
      cell("Object", a.objectType === "agent" ? "the agent" : `${a.objectType} ${a.object}`),
      cell("What", a.summary),
      cell("Since", kw.time(a.startedAt)));
  }

  function historyRow(a) {
    return kw.el("tr", {"data-id": a.id},
      kw.el("td", {class: "lead"}, a.ruleName),
      cell("Agent", agentLink(a.agentId, a.agentName)),
      cell("Object", a.objectType === "agent" ? "the agent" : `${a.objectType} ${a.object}`),
      cell("What", a.summary),
      cell("Started", kw.time(a.startedAt, "data-local")),
      cell("Resolved", kw.time(a.resolvedAt, "data-local")));
  }

  function ruleRow(r) {
    const scope = (r.agentId ? agentNames.get(r.agentId) || r.agentId : "every agent") + (r.match ? ` · ${r.match}` : "");
    const sent = r.channels.map((id) => (channels.find((c) => c.id === id) || {name: id}).name).join(", ");
    const row = kw.el("tr", {"data-id": r.id},
      kw.el("td", {class: "lead"}, r.name),
      cell("Kind", kw.el("code", {}, r.kind)),
      cell("Applies to", scope),
      cell("Threshold", r.threshold === null ? "–" : r.threshold + " %"),
      cell("For", r.forSeconds + " s" + (r.repeatSeconds ? `, reminds every ${r.repeatSeconds} s` : "")),
      cell("Channels", sent || "none"),
      cell("State", r.enabled ? "enabled" : "disabled"));
    if (admin) {
      row.append(kw.el("td", {class: "actions"},
        button("Edit", {"data-edit": r.id, "aria-label": `Edit the rule ${r.name}`}), " ",
        button("Delete", {class: "danger", "data-delete-rule": r.id, "aria-label": `Delete the rule ${r.name}`})));
    }
    return row;
  }

  function channelRow(c) {
    const row = kw.el("tr", {"data-id": c.id},
      kw.el("td", {class: "lead"}, c.name),
      cell("URL", kw.el("code", {}, c.url)),
      cell("Last delivered", kw.time(c.lastDeliveredAt)),
      cell("Last error", c.lastError ? kw.el("span", {class: "error"}, c.lastError, " (", kw.time(c.lastErrorAt), ")") : "–"));
    if (admin) {
      row.append(kw.el("td", {class: "actions"},
        button("Test", {"data-test": c.id, "aria-label": `Send a test message to ${c.name}`}), " ",
        button("Delete", {class: "danger", "data-delete-channel": c.id, "aria-label": `Delete the channel ${c.name}`})));
    }
    return row;
  }

  function silenceRow(s) {
    const rule = s.ruleId ? (rules.find((r) => r.id === s.ruleId) || {name: s.ruleId}).name : "every rule";
    const row = kw.el("tr", {"data-id": s.id},
      kw.el("td", {class: "lead"}, s.agentId ? agentNames.get(s.agentId) || s.agentId : "every agent"),
      cell("Rule", rule),
      cell("Until", kw.time(s.until, "data-local")),
      cell("Comment", s.comment || "–"));
    if (admin) {
      row.append(kw.el("td", {class: "actions"},
        button("End", {"data-end": s.id, "aria-label": "End this silence now"})));
    }
    return row;
  }

  async function loadAlerts() {
    const [firing, resolved] = await Promise.all([kw.api("GET", "/api/v1/alerts?state=firing"),
                                                  kw.api("GET", "/api/v1/alerts?state=resolved")]);
    fill("firing", firing.map(firingRow), 5, "Nothing is firing.");
    fill("history", resolved.map(historyRow), 6, "No alert resolved in the last 90 days.");
  }

  async function loadSettings() {
    const silences = await Promise.all([kw.api("GET", "/api/v1/alert-rules"),
                                        kw.api("GET", "/api/v1/notification-channels"),
                                        kw.api("GET", "/api/v1/silences")]).then(([r, c, s]) => {
      rules = r; channels = c; return s;
    });
    const columns = admin ? 8 : 7;
    fill("rules", rules.map(ruleRow), columns, "No rules yet." + (admin ? " Make one with the form above." : ""));
    fill("channels", channels.map(channelRow), admin ? 5 : 4, "No channels yet.");
    fill("silences", silences.map(silenceRow), admin ? 5 : 4, "No silence.");
    if (admin) refreshChoices();
  }

  // The rule form's channel boxes and the silence form's rules follow what exists.
  function refreshChoices() {
    const box = document.getElementById("rule-channels");
    const ticked = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
    box.replaceChildren(kw.el("legend", {}, "Send to"),
      ...(channels.length ? channels.map((c) => kw.el("label", {class: "check"},
        kw.el("input", {type: "checkbox", value: c.id, checked: ticked.has(c.id)}), " " + c.name))
        : [kw.el("span", {class: "muted"}, "No channels yet: add one below.")]));
    const select = document.getElementById("silence-rule");
    const picked = select.value;
    select.replaceChildren(kw.el("option", {value: ""}, "every rule"),
      ...rules.map((r) => kw.el("option", {value: r.id}, r.name)));
    select.value = rules.some((r) => r.id === picked) ? picked : "";
  }

  async function act(work) {
    problem.hidden = true;
    try {
      await work();
      await Promise.all([loadSettings(), loadAlerts()]);
    } catch (error) { fail(error); }
  }

  if (admin) {
    const form = document.getElementById("rule-form");
    const field = (name) => document.getElementById("rule-" + name);
    const number = (name) => field(name).value === "" ? null : Number(field(name).value);

    const kindChanged = () => {
      const takes = choices.thresholdKinds.includes(field("kind").value);
      field("threshold").disabled = !takes;
      field("threshold").required = takes;
      if (!takes) field("threshold").value = "";
    };
    field("kind").addEventListener("change", kindChanged);
    kindChanged();

    const editing = (rule) => {
      field("id").value = rule ? rule.id : "";
      document.getElementById("rule-form-title").textContent = rule ? `Edit the rule ${rule.name}` : "New rule";
      document.getElementById("rule-save").textContent = rule ? "Save rule" : "Create rule";
      document.getElementById("rule-cancel").hidden = !rule;
      field("name").value = rule ? rule.name : "";
      field("kind").value = rule ? rule.kind : choices.kinds[0];
      field("agent").value = rule && rule.agentId ? rule.agentId : "";
      field("match").value = rule && rule.match ? rule.match : "";
      kindChanged();
      field("threshold").value = rule && rule.threshold !== null ? rule.threshold : "";
      field("for").value = rule ? rule.forSeconds : "";
      field("repeat").value = rule && rule.repeatSeconds ? rule.repeatSeconds : "";
      field("enabled").checked = rule ? rule.enabled : true;
      for (const box of document.querySelectorAll("#rule-channels input")) {
        box.checked = rule ? rule.channels.includes(box.value) : false;
      }
    };
    document.getElementById("rule-cancel").addEventListener("click", () => editing(null));

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const rule = {name: field("name").value, kind: field("kind").value, agentId: field("agent").value || null,
                    match: field("match").value || null, threshold: number("threshold"),
                    repeatSeconds: number("repeat"), enabled: field("enabled").checked,
                    channels: [...document.querySelectorAll("#rule-channels input:checked")].map((i) => i.value)};
      if (number("for") !== null) rule.forSeconds = number("for");
      const id = field("id").value;
      act(async () => {
        if (id) await kw.api("PATCH", "/api/v1/alert-rules/" + encodeURIComponent(id), rule);
        else await kw.api("POST", "/api/v1/alert-rules", rule);
        editing(null);
      });
    });

    document.getElementById("rules").addEventListener("click", (event) => {
      const edit = event.target.closest("button[data-edit]");
      const remove = event.target.closest("button[data-delete-rule]");
      if (edit) {
        editing(rules.find((r) => r.id === edit.dataset.edit));
        form.scrollIntoView({behavior: "smooth", block: "start"});
        field("name").focus();
      } else if (remove) {
        const rule = rules.find((r) => r.id === remove.dataset.deleteRule);
        if (!confirm(`Delete the rule "${rule.name}"? Its firing alerts end unannounced.`)) return;
        act(() => kw.api("DELETE", "/api/v1/alert-rules/" + encodeURIComponent(rule.id)));
      }
    });

    document.getElementById("channel-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = document.getElementById("channel-name"), url = document.getElementById("channel-url");
      act(async () => {
        await kw.api("POST", "/api/v1/notification-channels", {name: name.value, url: url.value});
        name.value = ""; url.value = "";
      });
    });

    document.getElementById("channels").addEventListener("click", async (event) => {
      const test = event.target.closest("button[data-test]");
      const remove = event.target.closest("button[data-delete-channel]");
      const said = document.getElementById("channel-tested");
      if (test) {
        const channel = channels.find((c) => c.id === test.dataset.test);
        test.disabled = true;
        said.hidden = true;
        await act(async () => {
          const sent = await kw.api("POST", `/api/v1/notification-channels/${encodeURIComponent(channel.id)}/test`, {});
          said.textContent = sent.delivered ? `Test message delivered to ${channel.name}.`
            : `The test message to ${channel.name} was not delivered: ${sent.error}`;
          said.className = "message " + (sent.delivered ? "ok" : "error");
          said.hidden = false;
        });
        test.disabled = false;
      } else if (remove) {
        const channel = channels.find((c) => c.id === remove.dataset.deleteChannel);
        if (!confirm(`Delete the channel "${channel.name}"? Rules stop sending to it.`)) return;
        act(() => kw.api("DELETE", "/api/v1/notification-channels/" + encodeURIComponent(channel.id)));
      }
    });

    document.getElementById("silence-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const seconds = Number(document.getElementById("silence-for").value);
      const comment = document.getElementById("silence-comment");
      act(async () => {
        await kw.api("POST", "/api/v1/silences", {
          agentId: document.getElementById("silence-agent").value || null,
          ruleId: document.getElementById("silence-rule").value || null,
          until: new Date(Date.now() + seconds * 1000).toISOString(), comment: comment.value || null});
        comment.value = "";
      });
    });

    document.getElementById("silences").addEventListener("click", (event) => {
      const end = event.target.closest("button[data-end]");
      if (end) act(() => kw.api("DELETE", "/api/v1/silences/" + encodeURIComponent(end.dataset.end)));
    });
  }

  loadSettings().then(loadAlerts).catch(fail);
  setInterval(() => loadAlerts().catch((error) => console.warn("alerts not refreshed:", error)),
              Number(root.dataset.interval) * 1000);
  setInterval(() => kw.refreshTimes(root), 1000);
})();
