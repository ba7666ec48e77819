// The agents page: the table and the summary, read again from GET /api/v1/agents every push interval.
"use strict";

(function () {
  const table = document.getElementById("agents");
  const interval = Number(table.dataset.interval) * 1000;

  function row(agent) {
    const running = agent.runningCount ?? agent.containerCount;
    return kw.el("tr", {"data-id": agent.id},
      kw.el("td", {}, kw.el("span", {class: "dot " + agent.status, "aria-hidden": "true"}),
        kw.el("span", {class: "status-text"}, agent.status)),
      kw.el("td", {}, kw.el("a", {href: "/agents/" + encodeURIComponent(agent.id)}, agent.name)),
      kw.el("td", {class: "hide-narrow"}, agent.hostname),
      kw.el("td", {class: "hide-narrow"}, agent.platform || ""),
      kw.el("td", {class: "hide-narrow"}, agent.version || ""),
      kw.el("td", {class: "containers" + (agent.containersNeedAttention ? " attention" : "")},
        `${running} / ${agent.containerCount}`),
      kw.el("td", {}, kw.time(agent.lastSeen)));
  }

  function show(agents) {
    const counts = {connected: 0, disconnected: 0, pending: 0, running: 0, stopped: 0};
    for (const agent of agents) {
      counts[agent.status] += 1;
      const running = agent.runningCount ?? agent.containerCount;
      counts.running += running;
      counts.stopped += agent.containerCount - running;
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
