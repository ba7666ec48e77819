// The agents page: the table and the summary, read again from GET /api/v1/agents every push interval.
"use strict";

(function () {
  const table = document.getElementById("agents");
  const interval = Number(table.dataset.interval) * 1000;

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
    return kw.el("tr", {"data-id": agent.id},
      kw.el("td", {}, kw.el("span", {class: "dot " + agent.status, "aria-hidden": "true"}),
        kw.el("span", {class: "status-text"}, agent.status)),
      kw.el("td", {}, kw.el("a", {href: kw.root + "/agents/" + encodeURIComponent(agent.id)}, agent.name)),
      kw.el("td", {class: "hide-narrow"}, agent.hostname),
      kw.el("td", {class: "hide-narrow"}, agent.platform || ""),
      kw.el("td", {class: "hide-narrow"}, agent.version || ""),
      kw.el("td", {class: "containers" + (why ? " attention" : ""), title: why || null},
        `${agent.runningCount} / ${agent.containerCount}`),
      kw.el("td", {}, kw.time(agent.lastSeen)));
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
      show(await kw.api("GET", "/api/v1/agents"));
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
