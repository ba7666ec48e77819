// One agent's page: its containers (or nodes and pods) from the JSON API, charts of a chosen subject, deletion.
"use strict";

(function () {
  const root = document.getElementById("agent-page");
  const agentId = root.dataset.agentId;
  const base = "/api/v1/agents/" + encodeURIComponent(agentId);
  const interval = Number(root.dataset.interval) * 1000;
  const minuteRetention = Number(root.dataset.minuteRetention);
  const subject = document.getElementById("chart-subject");
  const namespace = document.getElementById("pod-namespace");
  let range = 3600;
  let containers = [];
  let sort = {key: "name", descending: false};
  // What the charts show: "agent", or "container:<id>", "node:<name>", "pod:<namespace>/<name>"; kept in the URL's hash.
  let chosen = decodeURIComponent(location.hash.slice(1)) || "agent";
  let alerts = JSON.parse(document.getElementById("firing-data").textContent);

  // The alerts firing on the agent, listed above the charts; an object's own mark its row's name.
  function showFiring() {
    const section = document.getElementById("agent-firing");
    section.querySelector("ul").replaceChildren(...alerts.map((a) => kw.el("li", {},
      kw.el("span", {class: "badge firing"}, a.ruleName), " ", a.summary, " ",
      kw.el("span", {class: "muted"}, "since ", kw.time(a.startedAt)))));
    section.hidden = alerts.length === 0;
  }

  function firingMark(objectType, name) {
    const found = alerts.filter((a) => a.objectType === objectType && a.object === name);
    if (!found.length) return null;
    return kw.el("span", {class: "badge firing", title: found.map((a) => a.summary).join("\n")},
      found.length > 1 ? `${found.length} firing` : "firing");
  }

  const fixed = (v, digits) => v === null || v === undefined ? "–" : v.toFixed(digits);
  const megabytes = (v) => v === null || v === undefined ? "–" : kw.bytes(v * 1048576);
  const rate = (v) => v === null || v === undefined ? "–" : kw.bytes(v) + "/s";

  function statusDot(status, good) {
    const state = status === good ? "running" : (status === "exited" || status === "dead" || status === "NotReady"
      || status === "Failed" ? "stopped" : "other");
    return [kw.el("span", {class: "dot " + state, "aria-hidden": "true"}),
            kw.el("span", {class: "status-text"}, status || "–")];
  }

  function memory(used, limit) {
    const cell = kw.el("td", {class: "num"}, megabytes(used),
      limit ? kw.el("span", {class: "hide-narrow"}, " / " + megabytes(limit)) : null);
    if (used !== null && used !== undefined && limit) {
      const share = Math.min(100, 100 * used / limit);
      cell.append(kw.el("span", {class: "bar", role: "img", "aria-label": share.toFixed(0) + " % of the limit"},
        kw.el("span", {style: `width: ${share.toFixed(1)}%`})));
    }
    return cell;
  }

  function restarts(item) {
    const recent = item.recentRestarts > 0;
    return kw.el("td", {class: "num" + (recent ? " attention" : ""),
                        title: recent ? `${item.recentRestarts} in the last hour` : null},
      item.restartCount ?? "–");
  }

  function containerRow(c) {
    const stopped = c.stoppedAt !== null && c.stoppedAt !== undefined;
    return kw.el("tr", {"data-id": c.id, class: stopped ? "stopped" : null},
      kw.el("td", {}, kw.el("button", {type: "button", class: "link", "data-subject": "container:" + c.id,
                                       title: "Show its charts"}, c.name), firingMark("container", c.name)),
      kw.el("td", {class: "hide-narrow"}, c.image || "–"),
      kw.el("td", {class: stopped ? "attention" : null,
                   title: stopped ? "Stopped since it was last running, " + kw.exact(c.stoppedAt) : null},
        ...statusDot(c.status, "running")),
      kw.el("td", {class: "num"}, fixed(c.cpuPercent, 1)),
      memory(c.memoryMB, c.memoryLimitMB),
      kw.el("td", {class: "num hide-narrow"}, rate(c.networkRxBytesPerSec)),
      kw.el("td", {class: "num hide-narrow"}, rate(c.networkTxBytesPerSec)),
      restarts(c));
  }

  function showContainers() {
    const {key, descending} = sort;
    const sorted = [...containers].sort((a, b) => {
      const x = a[key] ?? -Infinity, y = b[key] ?? -Infinity;
      const order = typeof x === "string" || typeof y === "string" ? String(x).localeCompare(String(y)) : x - y;
      return descending ? -order : order;
    });
    const body = document.querySelector("#containers tbody");
    body.replaceChildren(...(sorted.length ? sorted.map(containerRow)
      : [kw.el("tr", {}, kw.el("td", {colspan: 8, class: "muted"}, "No containers in the latest push."))]));
    for (const th of document.querySelectorAll("#containers th")) {
      if (th.dataset.key === key) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
  }

  document.querySelector("#containers thead").addEventListener("click", (event) => {
    const th = event.target.closest("th");
    if (!th || !event.target.closest("button")) return;
    sort = {key: th.dataset.key, descending: sort.key === th.dataset.key ? !sort.descending : false};
    showContainers();
  });

  function nodeRow(n) {
    return kw.el("tr", {},
      kw.el("td", {}, kw.el("button", {type: "button", class: "link", "data-subject": "node:" + n.name}, n.name),
        firingMark("node", n.name)),
      kw.el("td", {}, ...statusDot(n.status, "Ready")),
      kw.el("td", {class: "num"}, fixed(n.cpuPercent, 1)),
      memory(n.memoryMB, n.memoryCapacityMB),
      kw.el("td", {class: "num"}, (n.podCount ?? "–") + (n.podCapacity ? " / " + n.podCapacity : "")),
      kw.el("td", {class: "num hide-narrow"}, rate(n.networkRxBytesPerSec)),
      kw.el("td", {class: "num hide-narrow"}, rate(n.networkTxBytesPerSec)),
      kw.el("td", {class: "hide-narrow"}, n.kubeletVersion || "–"));
  }

  function podRow(p) {
    return kw.el("tr", {},
      kw.el("td", {}, p.namespace),
      kw.el("td", {}, kw.el("button", {type: "button", class: "link",
                                       "data-subject": "pod:" + p.namespace + "/" + p.name}, p.name),
        firingMark("pod", p.namespace + "/" + p.name)),
      kw.el("td", {}, ...statusDot(p.phase, "Running")),
      kw.el("td", {}, p.ready === null || p.ready === undefined ? "–"
        : (p.ready ? "yes" : "no") + (p.containerCount ? ` (${p.readyContainers ?? 0}/${p.containerCount})` : "")),
      kw.el("td", {class: "num"}, fixed(p.cpuPercent, 1)),
      memory(p.memoryMB, p.memoryLimitMB),
      restarts(p),
      kw.el("td", {class: "hide-narrow"}, p.nodeName || "–"));
  }

  // Keep the subject list in step with what the latest push holds, keeping the choice made.
  function subjects(groups) {
    const options = [kw.el("option", {value: "agent"}, "The whole agent")];
    for (const [label, items] of groups) {
      if (!items.length) continue;
      const group = kw.el("optgroup", {label});
      for (const [value, text] of items) group.append(kw.el("option", {value}, text));
      options.push(group);
    }
    subject.replaceChildren(...options);
    if (![...subject.options].some((o) => o.value === chosen)) {
      subject.append(kw.el("option", {value: chosen}, chosen.replace(/^[a-z]+:/, "")));  // gone from the latest push
    }
    subject.value = chosen;
  }

  async function loadTables() {
    containers = await kw.api("GET", base + "/containers");
    showContainers();
    const groups = [["Containers", containers.map((c) => ["container:" + c.id, c.name])]];
    // A Docker host reports its machine as a node; a Kubernetes agent its nodes and pods.
    const [nodes, pods] = await Promise.all([
      root.dataset.nodes === "true" ? kw.api("GET", base + "/nodes") : [],
      root.dataset.pods === "true" ? kw.api("GET", base + "/pods") : []]);
    document.getElementById("nodes-section").hidden = nodes.length === 0;
    document.getElementById("pods-section").hidden = pods.length === 0;
    document.getElementById("containers-section").hidden = containers.length === 0 && pods.length > 0;
    document.querySelector("#nodes tbody").replaceChildren(...nodes.map(nodeRow));
    const picked = namespace.value;
    const names = [...new Set(pods.map((p) => p.namespace))].sort();
    namespace.replaceChildren(kw.el("option", {value: ""}, "All namespaces"),
      ...names.map((n) => kw.el("option", {value: n}, n)));
    namespace.value = names.includes(picked) ? picked : "";
    const shown = pods.filter((p) => !namespace.value || p.namespace === namespace.value);
    document.querySelector("#pods tbody").replaceChildren(...shown.map(podRow));
    groups.push(["Nodes", nodes.map((n) => ["node:" + n.name, n.name])],
                ["Pods", pods.map((p) => ["pod:" + p.namespace + "/" + p.name, p.namespace + "/" + p.name])]);
    subjects(groups);
  }

  function seriesPath() {
    const [kind, ...rest] = chosen.split(":");
    const name = rest.join(":");
    if (kind === "container") return base + "/containers/" + encodeURIComponent(name) + "/metrics";
    if (kind === "node") return base + "/nodes/" + encodeURIComponent(name) + "/metrics";
    if (kind === "pod") {
      const slash = name.indexOf("/");
      return base + "/pods/" + encodeURIComponent(name.slice(0, slash)) + "/" +
        encodeURIComponent(name.slice(slash + 1)) + "/metrics";
    }
    return base + "/metrics";
  }

  // How far the agent's clock runs ahead: its samples carry its timestamps, so its charts end at its now.
  let clockAhead = Number(root.dataset.clockAhead) || 0;
  let drawing = 0;
  async function loadCharts() {
    const ticket = ++drawing;
    const figures = document.querySelectorAll("#charts figure");
    const width = figures[0].querySelector(".plot").clientWidth;
    const to = new Date(Date.now() + clockAhead * 1000);
    const from = new Date(to.getTime() - range * 1000);
    const query = new URLSearchParams({from: from.toISOString(), to: to.toISOString(),
                                       step: kwCharts.step(range, width, minuteRetention)});
    let found;
    try {
      found = await kw.api("GET", seriesPath() + "?" + query);
    } catch (error) {
      for (const figure of figures) figure.querySelector(".plot").replaceChildren(
        kw.el("p", {class: "nodata"}, "Not available: " + error.message));
      return;
    }
    if (ticket !== drawing) return;  // a newer choice was made meanwhile
    for (const figure of figures) {
      kwCharts.draw(figure, figure.dataset.chart, found.points, from.getTime() / 1000, to.getTime() / 1000);
    }
  }

  async function refreshAgent() {
    const [agent, firing] = await Promise.all([kw.api("GET", base), kw.api("GET", "/api/v1/alerts?state=firing")]);
    alerts = firing.filter((a) => a.agentId === agentId);
    clockAhead = Math.max(0, agent.clockSkewSeconds || 0);
    showFiring();
    document.getElementById("agent-status").textContent = agent.status;
    document.getElementById("agent-dot").className = "dot " + agent.status;
    if (agent.lastSeen) document.getElementById("agent-last-seen").replaceChildren(kw.time(agent.lastSeen));
  }

  document.querySelector(".ranges").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-range]");
    if (!button) return;
    range = Number(button.dataset.range);
    for (const other of document.querySelectorAll(".ranges button")) {
      other.setAttribute("aria-pressed", other === button ? "true" : "false");
    }
    loadCharts();
  });
  function choose(value) {
    chosen = value;
    subject.value = value;
    history.replaceState(null, "", value === "agent" ? location.pathname : "#" + encodeURIComponent(value));
    loadCharts();
  }
  subject.addEventListener("change", () => choose(subject.value));
  namespace.addEventListener("change", loadTables);
  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-subject]");
    if (!button) return;
    choose(button.dataset.subject);
    document.getElementById("charts").scrollIntoView({behavior: "smooth", block: "start"});
  });

  const remove = document.getElementById("delete-agent");
  if (remove) {
    remove.addEventListener("click", async () => {
      const name = root.dataset.agentName;
      if (!confirm(`Delete the agent "${name}" and every metric of it? This cannot be undone.`)) return;
      try {
        await kw.api("DELETE", base);
        window.location = kw.root + "/";
      } catch (error) {
        alert(`"${name}" was not deleted: ${error.message}`);
      }
    });
  }

  showFiring();
  loadCharts();
  loadTables().catch((error) => console.warn("tables not loaded:", error));
  setInterval(() => {
    // The tables are drawn once the firing alerts are known, so that their marks follow them.
    refreshAgent().catch((error) => console.warn("agent not refreshed:", error))
      .then(() => loadTables()).catch((error) => console.warn("tables not refreshed:", error));
    if (range <= 86400) loadCharts();
  }, interval);
  setInterval(() => kw.refreshTimes(root), 1000);
})();
