// The users page: invite, change a role, reset a password, remove; all through /api/v1/users.
"use strict";

(function () {
  const table = document.getElementById("users");
  const body = table.tBodies[0];
  const problem = document.getElementById("users-error");

  function fail(error) { problem.textContent = error.message; problem.hidden = false; }

  function given(email, password) {
    document.getElementById("given-for").textContent =
      `The password of ${email}: copy it now, it is not shown again.`;
    document.getElementById("given-value").textContent = password;
    document.getElementById("given-password").hidden = false;
  }

  function row(user) {
    const role = kw.el("select", {"data-role": user.id, "aria-label": `Role of ${user.email}`},
      ...["viewer", "admin"].map((r) => kw.el("option", {value: r, selected: r === user.role}, r)));
    const me = user.id === table.dataset.me;
    return kw.el("tr", {"data-id": user.id},
      kw.el("td", {}, user.email, me ? kw.el("span", {class: "muted"}, " (you)") : null),
      kw.el("td", {}, role),
      kw.el("td", {}, kw.time(user.createdAt, "data-local")),
      kw.el("td", {},
        kw.el("button", {type: "button", "data-reset": user.id, "data-email": user.email,
                         "aria-label": `Reset the password of ${user.email}`}, "Reset password"), " ",
        kw.el("button", {type: "button", class: "danger", "data-remove": user.id, "data-email": user.email,
                         "aria-label": `Remove ${user.email}`}, "Remove")));
  }

  async function load() {
    body.replaceChildren(...(await kw.api("GET", "/api/v1/users")).map(row));
  }

  document.getElementById("invite").addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const email = document.getElementById("invite-email"), password = document.getElementById("invite-password");
    const invite = {email: email.value, role: document.getElementById("invite-role").value};
    if (password.value) invite.password = password.value;
    try {
      const added = await kw.api("POST", "/api/v1/users", invite);
      if (added.password) given(added.email, added.password);
      email.value = ""; password.value = "";
      await load();
    } catch (error) { fail(error); }
  });

  body.addEventListener("change", async (event) => {
    const select = event.target.closest("select[data-role]");
    if (!select) return;
    problem.hidden = true;
    try {
      await kw.api("PATCH", "/api/v1/users/" + encodeURIComponent(select.dataset.role), {role: select.value});
    } catch (error) { fail(error); }
    await load();
  });

  body.addEventListener("click", async (event) => {
    const reset = event.target.closest("button[data-reset]");
    const remove = event.target.closest("button[data-remove]");
    problem.hidden = true;
    try {
      if (reset) {
        if (!confirm(`Give ${reset.dataset.email} a new generated password? Their sessions end.`)) return;
        const done = await kw.api("POST", `/api/v1/users/${encodeURIComponent(reset.dataset.reset)}/password`, {});
        given(reset.dataset.email, done.password);
      } else if (remove) {
        if (!confirm(`Remove ${remove.dataset.email} from the organization?`)) return;
        await kw.api("DELETE", "/api/v1/users/" + encodeURIComponent(remove.dataset.remove));
        await load();
      }
    } catch (error) { fail(error); }
  });

  load().catch(fail);
})();
