// The agents page: the table and the summary, read again from GET /api/v1/agents every push interval.
"use strict";

(function () {
  const table = document.getElementById("agents");
  const interval = Number(table.dataset.interval) * 1000;
  let alerts = kw.firingByAgent(JSON.parse(document.getElementById("firing-data").textContent));

  // The alerts firing on an agent or its objects, as a badge that opens the Alerts page.
  function firing(agent) {
    const found = alerts.get(agent.id) || [];
    if (!found.length) return null;
    return kw.el("a", {class: "badge firing", href: kw.root + "/alerts", title: found.map((a) => a.summary).join("\n")},
      `${found.length} firing`);
  }

  // Why the containers cell is highlighted, as the server says it on the first load ("" when it is not).
  function attention(agent) {
    const reasons = [];
    if (agent.stoppedCount) reasons.push(`${agent.stoppedCount} stopped after running`);
    if (agent.restartedAt && Date.now() - Date.parse(agent.restartedAt) <= 3600 * 1000) {
      reasons.push("restarted within the hour");
    }
    return reasons.join(", ");
  }

  function row(agent) {
    const why = attention(agent);
    // data-label names each cell in the narrow layout, where rows are cards without the header row.
    return kw.el("tr", {"data-id": agent.id},
      kw.el("td", {class: "dotcell"}, kw.el("span", {class: "dot " + agent.status, "aria-hidden": "true"}),
        kw.el("span", {class: "status-text"}, agent.status)),
      kw.el("td", {class: "lead"}, kw.el("a", {href: kw.root + "/agents/" + encodeURIComponent(agent.id)}, agent.name),
        firing(agent)),
      kw.el("td", {class: "hide-narrow", "data-label": "Hostname"}, agent.hostname),
      kw.el("td", {class: "hide-narrow", "data-label": "Platform"}, agent.platform || "–"),
      kw.el("td", {class: "hide-narrow", "data-label": "Version"}, agent.version || "–"),
      kw.el("td", {class: "containers" + (why ? " attention" : ""), title: why || null, "data-label": "Containers"},
        `${agent.runningCount} / ${agent.containerCount}`),
      kw.el("td", {"data-label": "Last seen"}, kw.time(agent.lastSeen)));
  }

  function show(agents) {
    const counts = {connected: 0, disconnected: 0, pending: 0, running: 0, stopped: 0};
    for (const agent of agents) {
      counts[agent.status] += 1;
      counts.running += agent.runningCount;
      counts.stopped += agent.containerCount - agent.runningCount;
    }
    for (const [name, count] of Object.entries(counts)) {
      document.querySelector(`[data-count="${name}"]`).textContent = count;
    }
    table.tBodies[0].replaceChildren(...agents.map(row));
    document.getElementById("agents-wrap").hidden = agents.length === 0;
    document.getElementById("empty").hidden = agents.length > 0;
  }

  async function refresh() {
    try {
      const [listed, firingNow] = await Promise.all([kw.api("GET", "/api/v1/agents"),
                                                     kw.api("GET", "/api/v1/alerts?state=firing")]);
      alerts = kw.firingByAgent(firingNow);
      show(listed);
    } catch (error) {
      console.warn("agents not refreshed:", error);
    }
  }

  show(JSON.parse(document.getElementById("agents-data").textContent));
  setInterval(refresh, interval);
  setInterval(() => kw.refreshTimes(table), 1000);

  const create = document.getElementById("empty-create-key");
  if (create) {
    create.addEventListener("click", async () => {
      create.disabled = true;
      try {
        kw.showNewKey(await kw.api("POST", "/api/v1/api-keys", {name: "first agent"}));
        create.hidden = true;
      } catch (error) {
        create.disabled = false;
        alert("The key was not created: " + error.message);
      }
    });
  }
})();
