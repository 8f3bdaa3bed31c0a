// What every page uses: building elements, formatting, the API with the tab's key, errors.
// Stored text is always set as text (textContent), never parsed as HTML.

const KEY = "turnmem.key";
const BASE = location.pathname.split("/ui")[0];
const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const keyForm = document.getElementById("key-form");

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const enc = encodeURIComponent;
const fmt = (x, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const pct = (x) => `${Math.round(x * 1000) / 10}%`;

function when(value) {
  if (value === null || value === undefined) return "";
  const d = new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

function pretty(text) {
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? JSON.stringify(value, null, 2) : text;
  } catch {
    return text;
  }
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, (data && data.detail) || text || response.statusText);
  return data;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function fail(err) {
  main.replaceChildren();
  if (err instanceof ApiError && err.status === 401) {
    keyForm.hidden = false;
    const had = sessionStorage.getItem(KEY);
    showError(had ? `This key was refused: ${err.message}` : "This server needs an API key.");
    document.getElementById("key-input").focus();
    return;
  }
  showError(err instanceof ApiError ? `${err.status}: ${err.message}` : String(err));
}

function page(title, ...children) {
  main.replaceChildren(h("h1", { text: title }), ...children);
}

export { KEY, BASE, main, errorBox, keyForm, h, svg, enc, fmt, plural, pct, when, pretty, ApiError, api, showError, fail, page };
