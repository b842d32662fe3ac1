// Fetch one item through the backend (/api is proxied by nginx) and show it,
// with the cache result the backend reports (X-Cache: hit, miss or bypass).
"use strict";

const form = document.getElementById("lookup");
const itemBox = document.getElementById("item");
const meta = document.getElementById("meta");

function show(item) {
  const list = document.createElement("dl");
  for (const [label, value] of [["Id", item.id], ["Name", item.name], ["Description", item.description ?? "—"]]) {
    const term = document.createElement("dt");
    term.textContent = label;
    const detail = document.createElement("dd");
    detail.textContent = String(value);
    list.append(term, detail);
  }
  itemBox.replaceChildren(list);
}

function fail(message) {
  const paragraph = document.createElement("p");
  paragraph.className = "error";
  paragraph.textContent = message;
  itemBox.replaceChildren(paragraph);
}

async function load(id) {
  const started = performance.now();
  try {
    const response = await fetch(`/api/items/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    const took = Math.round(performance.now() - started);
    meta.textContent = `HTTP ${response.status}, cache ${response.headers.get("X-Cache") ?? "n/a"}, ${took} ms, ` +
      `request ${response.headers.get("X-Request-Id") ?? "n/a"}`;
    if (response.ok) {
      show(body);
    } else {
      fail(body.detail || body.error || `HTTP ${response.status}`);
    }
  } catch (error) {
    meta.textContent = "";
    fail(`The backend could not be reached: ${error}`);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const id = new FormData(form).get("id");
  history.replaceState(null, "", `?id=${encodeURIComponent(id)}`);
  load(id);
});

const initial = new URLSearchParams(location.search).get("id") || "1";
document.getElementById("item-id").value = initial;
load(initial);
