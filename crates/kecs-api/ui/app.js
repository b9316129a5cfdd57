// KECS web UI: plain JavaScript over the ECS API (POST / with X-Amz-Target, as the AWS SDKs
// speak it) and the live event stream (/ws/events). Hash routes, no build step.
"use strict";

const TARGET = "AmazonEC2ContainerServiceV20141113.";
const main = document.getElementById("main");
let current = null; // the view on screen: { refresh() }

async function ecs(op, body = {}) {
  const r = await fetch("/", {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op },
    body: JSON.stringify(body),
  });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${json.__type || r.status}: ${json.message || "request failed"}`);
  return json;
}

// Every page of a List operation.
async function all(op, body, key) {
  let out = [], token;
  do {
    const page = await ecs(op, { ...body, ...(token ? { nextToken: token } : {}) });
    out = out.concat(page[key] || []);
    token = page.nextToken;
  } while (token);
  return out;
}

// DescribeX over many ARNs, at most `chunk` per call; `key` names both the request's list and
// the answer's (clusters, services, tasks).
async function describe(op, key, arns, body, chunk = 100) {
  let out = [];
  for (let i = 0; i < arns.length; i += chunk) {
    const page = await ecs(op, { ...body, [key]: arns.slice(i, i + chunk) });
    out = out.concat(page[key] || []);
  }
  return out;
}

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const last = (arn) => String(arn || "").split("/").pop();
const tdName = (arn) => String(arn || "").split(":task-definition/").pop();
const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "");
const status = (s) => `<span class="status s-${esc(s)}">${esc(s)}</span>`;
const enc = encodeURIComponent;

function toast(message, kind = "ok") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = kind;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.className = ""), 4000);
}

// Runs a user action; reports its outcome and refreshes the view.
async function act(what, fn) {
  try {
    await fn();
    toast(what);
    await current?.refresh();
  } catch (e) {
    toast(e.message, "error");
  }
}

function table(headers, rows, test) {
  if (!rows.length) return `<p class="muted" data-test="${test}-empty">None.</p>`;
  return `<table data-test="${test}"><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}
    </tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

// ---- views: each draws its frame once, then fills its live parts on every refresh ----

async function clustersView() {
  main.innerHTML = `<h1>Clusters</h1>
    <section><form class="inline" id="create-cluster"><input name="name" placeholder="cluster name" required>
      <button>Create cluster</button></form></section>
    <section id="clusters"></section>`;
  main.querySelector("#create-cluster").onsubmit = (e) => {
    e.preventDefault();
    const name = e.target.name.value.trim();
    act(`Created cluster ${name}`, () => ecs("CreateCluster", { clusterName: name }));
    e.target.reset();
  };
  return async () => {
    const clusters = await describe("DescribeClusters", "clusters",
      await all("ListClusters", {}, "clusterArns"), {});
    clusters.sort((a, b) => a.clusterName.localeCompare(b.clusterName));
    main.querySelector("#clusters").innerHTML = table(
      ["Cluster", "Status", "Services", "Running tasks", "Pending tasks"],
      clusters.map((c) => `<tr data-cluster="${esc(c.clusterName)}">
        <td><a href="#/clusters/${enc(c.clusterName)}">${esc(c.clusterName)}</a></td>
        <td>${status(c.status)}</td><td class="num" data-test="services">${c.activeServicesCount}</td>
        <td class="num" data-test="running">${c.runningTasksCount}</td>
        <td class="num" data-test="pending">${c.pendingTasksCount}</td></tr>`),
      "clusters");
  };
}

async function clusterView(cluster) {
  const families = await all("ListTaskDefinitionFamilies", { status: "ACTIVE" }, "families");
  main.innerHTML = `<div class="crumbs"><a href="#/">Clusters</a> /</div><h1>${esc(cluster)}</h1>
    <section><h2>Run a task</h2><form class="inline" id="run-task">
      <select name="family" required>${families.map((f) => `<option>${esc(f)}</option>`).join("")}</select>
      <input name="count" type="number" min="1" max="10" value="1" style="width:5em">
      <button>Run task</button></form></section>
    <section><h2>Services</h2><div id="services"></div></section>
    <section><h2>Tasks</h2><div id="tasks"></div></section>`;
  main.querySelector("#run-task").onsubmit = (e) => {
    e.preventDefault();
    const f = e.target;
    act(`Started ${f.count.value} task(s) of ${f.family.value}`, async () => {
      const out = await ecs("RunTask", { cluster, taskDefinition: f.family.value, count: Number(f.count.value) });
      if (out.failures?.length) throw new Error(out.failures.map((x) => x.reason).join(", "));
    });
  };
  return async () => {
    const services = await describe("DescribeServices", "services",
      await all("ListServices", { cluster }, "serviceArns"), { cluster }, 10);
    main.querySelector("#services").innerHTML = table(
      ["Service", "Status", "Desired", "Running", "Pending", "Task definition"],
      services.map((s) => `<tr data-service="${esc(s.serviceName)}">
        <td><a href="#/clusters/${enc(cluster)}/services/${enc(s.serviceName)}">${esc(s.serviceName)}</a></td>
        <td>${status(s.status)}</td><td class="num" data-test="desired">${s.desiredCount}</td>
        <td class="num" data-test="running">${s.runningCount}</td><td class="num">${s.pendingCount}</td>
        <td>${esc(tdName(s.taskDefinition))}</td></tr>`),
      "services");
    main.querySelector("#tasks").innerHTML = await tasksTable(cluster, {});
  };
}

async function tasksTable(cluster, filter) {
  const arns = (await Promise.all(["RUNNING", "STOPPED"].map((desiredStatus) =>
    all("ListTasks", { cluster, desiredStatus, ...filter }, "taskArns")))).flat();
  const tasks = await describe("DescribeTasks", "tasks", arns, { cluster });
  tasks.sort((a, b) => (b.createdAt || 0) - (a.createdAt || 0));
  return table(["Task", "Last status", "Desired", "Task definition", "Group", "Created", ""],
    tasks.map((t) => `<tr data-task="${esc(last(t.taskArn))}">
      <td><a href="#/clusters/${enc(cluster)}/tasks/${enc(last(t.taskArn))}">${esc(last(t.taskArn))}</a></td>
      <td data-test="last-status">${status(t.lastStatus)}</td><td>${status(t.desiredStatus)}</td>
      <td>${esc(tdName(t.taskDefinitionArn))}</td><td>${esc(t.group)}</td><td>${when(t.createdAt)}</td>
      <td>${t.desiredStatus !== "STOPPED" ? `<button class="danger" data-stop="${esc(t.taskArn)}">Stop</button>` : ""}</td></tr>`),
    "tasks");
}

async function serviceView(cluster, name) {
  main.innerHTML = `<div class="crumbs"><a href="#/">Clusters</a> / <a href="#/clusters/${enc(cluster)}">${esc(cluster)}</a> /</div>
    <h1>${esc(name)}</h1>
    <section id="summary"></section>
    <section><h2>Actions</h2>
      <form class="inline" id="scale"><label>Desired count <input name="desired" type="number" min="0" style="width:6em" required></label>
        <button>Scale</button></form>
      <form class="inline" id="redeploy"><button>Force new deployment</button></form></section>
    <section><h2>Deployments</h2><div id="deployments"></div></section>
    <section><h2>Tasks</h2><div id="tasks"></div></section>
    <section><h2>Events</h2><div id="service-events"></div></section>`;
  main.querySelector("#scale").onsubmit = (e) => {
    e.preventDefault();
    const n = Number(e.target.desired.value);
    act(`Scaled ${name} to ${n}`, () => ecs("UpdateService", { cluster, service: name, desiredCount: n }));
  };
  main.querySelector("#redeploy").onsubmit = (e) => {
    e.preventDefault();
    act(`New deployment of ${name} started`, () =>
      ecs("UpdateService", { cluster, service: name, forceNewDeployment: true }));
  };
  return async () => {
    const [s] = (await ecs("DescribeServices", { cluster, services: [name] })).services;
    if (!s) throw new Error(`Service ${name} was not found.`);
    const scale = main.querySelector("#scale").desired;
    if (document.activeElement !== scale) scale.value = s.desiredCount;
    main.querySelector("#summary").innerHTML = `<table data-test="service-summary">
      <tr><th>Status</th><td>${status(s.status)}</td><th>Launch type</th><td>${esc(s.launchType)}</td></tr>
      <tr><th>Desired</th><td data-test="desired">${s.desiredCount}</td><th>Running</th><td data-test="running">${s.runningCount}</td></tr>
      <tr><th>Pending</th><td>${s.pendingCount}</td><th>Task definition</th><td>${esc(tdName(s.taskDefinition))}</td></tr></table>`;
    main.querySelector("#deployments").innerHTML = table(
      ["Deployment", "Status", "Rollout", "Task definition", "Desired", "Running", "Created"],
      (s.deployments || []).map((d) => `<tr data-deployment="${esc(d.id)}"><td>${esc(d.id)}</td>
        <td>${status(d.status)}</td><td>${status(d.rolloutState)}</td><td>${esc(tdName(d.taskDefinition))}</td>
        <td class="num">${d.desiredCount}</td><td class="num">${d.runningCount}</td><td>${when(d.createdAt)}</td></tr>`),
      "deployments");
    main.querySelector("#tasks").innerHTML = await tasksTable(cluster, { serviceName: name });
    main.querySelector("#service-events").innerHTML = table(["When", "Message"],
      (s.events || []).slice(0, 30).map((e) => `<tr><td>${when(e.createdAt)}</td><td>${esc(e.message)}</td></tr>`),
      "service-events");
  };
}

async function taskView(cluster, id) {
  main.innerHTML = `<div class="crumbs"><a href="#/">Clusters</a> / <a href="#/clusters/${enc(cluster)}">${esc(cluster)}</a> /</div>
    <h1>Task ${esc(id)}</h1><section id="summary"></section>
    <section><h2>Containers</h2><div id="containers"></div></section><div id="logs"></div>`;
  return async () => {
    const [t] = (await ecs("DescribeTasks", { cluster, tasks: [id] })).tasks;
    if (!t) throw new Error(`Task ${id} was not found.`);
    main.querySelector("#summary").innerHTML = `<table data-test="task-summary">
      <tr><th>Last status</th><td data-test="last-status">${status(t.lastStatus)}</td><th>Desired</th><td>${status(t.desiredStatus)}</td></tr>
      <tr><th>Task definition</th><td>${esc(tdName(t.taskDefinitionArn))}</td><th>Group</th><td>${esc(t.group)}</td></tr>
      <tr><th>Started</th><td>${when(t.startedAt)}</td><th>Stopped</th><td>${when(t.stoppedAt)} ${esc(t.stoppedReason)}</td></tr></table>
      ${t.desiredStatus !== "STOPPED" ? `<p><button class="danger" data-stop="${esc(t.taskArn)}">Stop task</button></p>` : ""}`;
    const containers = t.containers || [];
    main.querySelector("#containers").innerHTML = table(
      ["Container", "Image", "Status", "Exit code", "Reason", "Health", "Ports"],
      containers.map((c) => `<tr data-container="${esc(c.name)}"><td>${esc(c.name)}</td><td>${esc(c.image)}</td>
        <td data-test="container-status">${status(c.lastStatus)}</td><td class="num" data-test="exit-code">${esc(c.exitCode)}</td>
        <td>${esc(c.reason)}</td><td>${status(c.healthStatus)}</td>
        <td>${(c.networkBindings || []).map((b) => `${esc(b.hostPort)}→${esc(b.containerPort)}/${esc(b.protocol)}`).join(", ")}</td></tr>`),
      "containers");
    const logs = await Promise.all(containers.map(async (c) => {
      const r = await fetch(`/_kecs/tasks/${enc(t.taskArn)}/containers/${enc(c.name)}/logs?tail=100`);
      const body = await r.json().catch(() => ({}));
      const text = r.ok ? (body.lines || []).join("\n") : body.error || "";
      return `<section><h2>Logs: ${esc(c.name)}</h2><pre data-test="logs" data-container="${esc(c.name)}">${esc(text) || '<span class="muted">(no output)</span>'}</pre></section>`;
    }));
    main.querySelector("#logs").innerHTML = logs.join("");
  };
}

async function familiesView() {
  main.innerHTML = `<h1>Task definitions</h1>
    <section><h2>Register a task definition</h2><form id="register">
      <textarea name="json" placeholder='{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}' required></textarea>
      <p><button>Register</button></p></form></section>
    <section><h2>Families</h2><div id="families"></div></section>`;
  main.querySelector("#register").onsubmit = (e) => {
    e.preventDefault();
    act("Registered", async () => {
      let body;
      try { body = JSON.parse(e.target.json.value); } catch (err) { throw new Error(`Not JSON: ${err.message}`); }
      const td = (await ecs("RegisterTaskDefinition", body.taskDefinition || body)).taskDefinition;
      toast(`Registered ${td.family}:${td.revision}`);
      location.hash = `#/task-definitions/${enc(td.family)}/${td.revision}`;
    });
  };
  return async () => {
    const families = await all("ListTaskDefinitionFamilies", { status: "ALL" }, "families");
    main.querySelector("#families").innerHTML = table(["Family"],
      families.map((f) => `<tr data-family="${esc(f)}"><td><a href="#/task-definitions/${enc(f)}">${esc(f)}</a></td></tr>`),
      "families");
  };
}

async function familyView(family, revision) {
  main.innerHTML = `<div class="crumbs"><a href="#/task-definitions">Task definitions</a> /</div><h1>${esc(family)}</h1>
    <section><h2>Revisions</h2><div id="revisions"></div></section><section id="definition"></section>`;
  return async () => {
    const arns = (await Promise.all(["ACTIVE", "INACTIVE"].map((status) =>
      all("ListTaskDefinitions", { familyPrefix: family, status }, "taskDefinitionArns")))).flat();
    const revOf = (a) => Number(tdName(a).split(":")[1]);
    const mine = arns.filter((a) => tdName(a).split(":")[0] === family).sort((a, b) => revOf(b) - revOf(a));
    main.querySelector("#revisions").innerHTML = table(["Revision"],
      mine.map((a) => `<tr data-revision="${esc(tdName(a).split(":")[1])}"><td><a href="#/task-definitions/${enc(family)}/${enc(tdName(a).split(":")[1])}">${esc(tdName(a))}</a></td></tr>`),
      "revisions");
    const shown = revision || (mine[0] && tdName(mine[0]).split(":")[1]);
    if (shown) {
      const td = (await ecs("DescribeTaskDefinition", { taskDefinition: `${family}:${shown}` })).taskDefinition;
      main.querySelector("#definition").innerHTML = `<h2>${esc(family)}:${esc(shown)} ${status(td.status)}</h2>
        <pre data-test="task-definition-json">${esc(JSON.stringify(td, null, 2))}</pre>`;
    }
  };
}

// ---- routing, stop buttons, live events ----

const routes = [
  [/^#?\/?$/, clustersView, "clusters"],
  [/^#\/clusters\/([^/]+)$/, clusterView, "clusters"],
  [/^#\/clusters\/([^/]+)\/services\/([^/]+)$/, serviceView, "clusters"],
  [/^#\/clusters\/([^/]+)\/tasks\/([^/]+)$/, taskView, "clusters"],
  [/^#\/task-definitions$/, familiesView, "task-definitions"],
  [/^#\/task-definitions\/([^/]+)(?:\/(\d+))?$/, familyView, "task-definitions"],
];

async function route() {
  const hash = location.hash || "#/";
  let [, view, nav] = routes[0], args = [];
  for (const [re, v, n] of routes) {
    const m = hash.match(re);
    if (m) {
      [view, nav] = [v, n];
      args = m.slice(1).map((a) => (a === undefined ? undefined : decodeURIComponent(a)));
      break;
    }
  }
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
  const shown = { refresh: async () => {} };
  current = shown;
  try {
    const fill = await view(...args);
    let running = null, again = false;
    // One refresh at a time; a refresh asked for meanwhile runs once after it.
    shown.refresh = async () => {
      if (running) { again = true; return running; }
      running = (async () => {
        do {
          again = false;
          try { await fill(); } catch (e) { toast(e.message, "error"); }
        } while (again && current === shown);
        running = null;
      })();
      return running;
    };
    await shown.refresh();
    main.dataset.ready = hash;
  } catch (e) {
    main.innerHTML = `<p class="status s-FAILED">${esc(e.message)}</p>`;
  }
}

main.addEventListener("click", (e) => {
  const arn = e.target.dataset?.stop;
  if (!arn) return;
  const cluster = arn.split("/").slice(-2)[0];
  act(`Stopping ${last(arn)}`, () => ecs("StopTask", { cluster, task: arn, reason: "Stopped from the KECS UI" }));
});

let refreshTimer = null;
function onEvent(ev) {
  const list = document.getElementById("events");
  const li = document.createElement("li");
  const d = ev.detail || {};
  const what = d.lastStatus ? `${last(ev.resources?.[0])} ${d.lastStatus}` : d.eventName || d.status || last(ev.resources?.[0]);
  li.innerHTML = `<span class="type">${esc(ev["detail-type"])}</span><br>${esc(what)} <span class="muted">${esc(ev.time?.slice(11, 19))}</span>`;
  list.prepend(li);
  while (list.children.length > 50) list.lastChild.remove();
  // Many events in a burst make one refresh.
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => current?.refresh(), 150);
}

function connect(delay = 500) {
  const live = document.getElementById("live");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/events`);
  ws.onopen = () => { live.className = "live on"; live.textContent = "live"; delay = 500; current?.refresh(); };
  ws.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev["detail-type"]) onEvent(ev);
    else if (ev.kecs === "lagged") current?.refresh();
  };
  ws.onclose = () => {
    live.className = "live off"; live.textContent = "offline";
    setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  };
}

window.addEventListener("hashchange", route);
route();
connect();
