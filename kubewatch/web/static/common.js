// Shared by every page: calls to the JSON API with the CSRF token, times in the browser's zone, copy buttons.
"use strict";

const kw = {
  csrf: document.querySelector('meta[name="csrf-token"]').content,
  // The path the server is mounted at behind a prefixing proxy ("" without one): every URL below starts with it.
  root: document.querySelector('meta[name="root"]').content,

  // Call the JSON API with the session cookie; state-changing calls carry the CSRF token.
  async api(method, path, body) {
    const options = {method, headers: {"Accept": "application/json"}, credentials: "same-origin"};
    if (method !== "GET") options.headers["X-CSRFToken"] = kw.csrf;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(kw.root + path, options);
    if (response.status === 401) { window.location = kw.root + "/login?next=" + encodeURIComponent(location.pathname); }
    const data = response.status === 204 ? null : await response.json();
    if (!response.ok) {
      const fields = data && data.errors ? " " + JSON.stringify(data.errors.json || data.errors) : "";
      throw new Error((data && data.message || response.statusText) + fields);
    }
    return data;
  },

  // "12 s ago", "5 min ago", "3 h ago", "2 d ago".
  ago(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  },

  exact(iso) { return new Date(iso).toLocaleString(); },

  // Every <time data-ago> reads "12 s ago", with the exact local time on hover; <time data-local> the local time.
  refreshTimes(root) {
    for (const node of (root || document).querySelectorAll("time[data-ago]")) {
      const iso = node.getAttribute("datetime");
      node.textContent = kw.ago(iso);
      node.title = kw.exact(iso);
    }
    for (const node of (root || document).querySelectorAll("time[data-local]")) {
      node.textContent = kw.exact(node.getAttribute("datetime"));
    }
  },

  el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value; else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  },

  time(iso, mode) {
    if (!iso) return document.createTextNode("never");
    const node = kw.el("time", {datetime: iso, [mode || "data-ago"]: true});
    kw.refreshTimes(kw.el("span", {}, node));
    return node;
  },

  // Show a new key once, with the commands that run an agent against this server.
  showNewKey(created) {
    const box = document.getElementById("newkey");
    const url = box.dataset.publicUrl;
    document.getElementById("newkey-value").textContent = created.key;
    document.getElementById("newkey-command").textContent =
      `kubewatch-agent --url ${url} --api-key ${created.key}`;
    document.getElementById("newkey-docker").textContent =
      `docker run -d --name kubewatch-agent --restart unless-stopped --hostname "$(hostname)" \\\n` +
      `  -v /var/run/docker.sock:/var/run/docker.sock:ro --group-add "$(stat -c %g /var/run/docker.sock)" \\\n` +
      `  -e KUBEWATCH_URL=${url} -e KUBEWATCH_API_KEY=${created.key} \\\n` +
      `  --entrypoint kubewatch-agent kubewatch-agent --platform docker`;
    document.getElementById("newkey-scrape").textContent =
      `curl -H "Authorization: Bearer ${created.key}" ${url}/metrics`;
    const read = created.scope === "read";
    document.getElementById("newkey-ingest").hidden = read;
    document.getElementById("newkey-read").hidden = !read;
    box.hidden = false;
  },

  // {agentId: [alert]} of a list of firing alerts (GET /api/v1/alerts?state=firing).
  firingByAgent(alerts) {
    const found = new Map();
    for (const alert of alerts) {
      if (!found.has(alert.agentId)) found.set(alert.agentId, []);
      found.get(alert.agentId).push(alert);
    }
    return found;
  },

  bytes(value) {
    if (value === null || value === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (Math.abs(value) >= 1024 && i < units.length - 1) { value /= 1024; i++; }
    const digits = Math.abs(value) >= 100 || (!i && Number.isInteger(value)) ? 0 : 1;
    return value.toFixed(digits) + " " + units[i];
  },
};

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (error) {  // no clipboard over plain HTTP on another host: select it for Ctrl+C instead
    const range = document.createRange();
    range.selectNodeContents(document.getElementById(button.dataset.copy));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});

kw.refreshTimes();
