// tradedesk chat page. No framework and no build step. User text only ever goes into textContent.
"use strict";

const PAGE = 50;          // messages kept on screen, as the API serves them
const WAIT = 25;          // long-poll seconds (the API allows up to 30)

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  rooms: [],
  room: null,             // the room shown
  lastID: 0,              // newest message id shown
  shown: new Set(),       // message ids on screen, so a post and its long-poll echo show once
  poll: null,             // AbortController of the running long-poll
  backoff: 0,
};

// ---- API --------------------------------------------------------------------------------------

class APIError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function api(method, path, body, signal) {
  const options = { method, signal, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) {
    const message = (data && data.error) || `the server answered ${response.status}`;
    throw new APIError(response.status, message, Number(response.headers.get("Retry-After")) || 0);
  }
  return data;
}

// ---- Logged in or out ---------------------------------------------------------------------------

async function start() {
  try {
    const me = await api("GET", "/api/session");
    await loggedIn(me.username);
  } catch {
    loggedOut();
  }
}

async function loggedIn(username) {
  state.user = username;
  $("username").textContent = username;
  $("who").hidden = false;
  $("auth").hidden = true;
  $("chat").hidden = false;
  $("auth-error").textContent = "";
  await loadRooms();
  const general = state.rooms.find((room) => room.name === "general") || state.rooms[0];
  if (general) await openRoom(general);
}

function loggedOut() {
  stopPolling();
  state.user = null;
  state.room = null;
  $("who").hidden = true;
  $("chat").hidden = true;
  $("auth").hidden = false;
  clearMessages();
}

async function submitCredentials(event, register) {
  event.preventDefault();
  const form = event.target;
  const credentials = { username: form.username.value.trim(), password: form.password.value };
  $("auth-error").textContent = "";
  try {
    if (register) await api("POST", "/api/users", credentials);
    const me = await api("POST", "/api/session", credentials);
    form.reset();
    await loggedIn(me.username);
  } catch (error) {
    $("auth-error").textContent = error.message;
  }
}

async function logout() {
  try { await api("DELETE", "/api/session"); } catch { /* logged out anyway */ }
  loggedOut();
}

// ---- Rooms --------------------------------------------------------------------------------------

// The list comes in pages of up to ROOM_PAGE rooms, oldest first.
const ROOM_PAGE = 500;

async function loadRooms() {
  const rooms = [];
  for (let after = 0; ; after = rooms[rooms.length - 1].id) {
    const page = await api("GET", `/api/rooms?after=${after}&limit=${ROOM_PAGE}`);
    rooms.push(...page);
    if (page.length < ROOM_PAGE) break;
  }
  state.rooms = rooms;
  renderRooms();
}

function renderRooms() {
  const list = $("room-list");
  list.replaceChildren(...state.rooms.map((room) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = room.name;
    button.setAttribute("aria-current", state.room && state.room.id === room.id ? "true" : "false");
    button.addEventListener("click", () => openRoom(room));
    item.append(button);
    return item;
  }));
}

async function createRoom(event) {
  event.preventDefault();
  const form = event.target;
  $("room-error").textContent = "";
  try {
    const room = await api("POST", "/api/rooms", { name: form.name.value });
    form.reset();
    await loadRooms();
    await openRoom(room);
  } catch (error) {
    if (error.status === 401) return loggedOut();
    $("room-error").textContent = error.message;
  }
}

async function openRoom(room) {
  stopPolling();
  state.room = room;
  $("room-name").textContent = room.name;
  renderRooms();
  clearMessages();
  try {
    showMessages(await api("GET", `/api/rooms/${room.id}/messages`));
  } catch (error) {
    if (error.status === 401) return loggedOut();
    setStatus(error.message);
  }
  poll(room);
}

// ---- Messages -----------------------------------------------------------------------------------

function clearMessages() {
  $("messages").replaceChildren();
  state.shown.clear();
  state.lastID = 0;
}

// `cursor`: whether these came from a read in commit order (the first load, a long-poll page), which
// moves the long-poll's cursor. The answer to one's own post does not: messages committed before it
// may not have arrived yet, and paging from its id would skip them.
function showMessages(messages, { cursor = true } = {}) {
  const list = $("messages");
  for (const message of messages) {
    if (cursor) state.lastID = Math.max(state.lastID, message.id);
    if (state.shown.has(message.id)) continue;
    state.shown.add(message.id);
    // Commit order on screen too: before the first message shown with a larger id.
    const later = [...list.children].find((child) => Number(child.dataset.id) > message.id);
    list.insertBefore(messageItem(message), later || null);
  }
  // Only the newest PAGE messages stay on screen (notes from this page included).
  while (list.children.length > PAGE) {
    const first = list.firstElementChild;
    state.shown.delete(Number(first.dataset.id));
    first.remove();
  }
  list.scrollTop = list.scrollHeight;
}

function messageItem(message) {
  const item = document.createElement("li");
  item.dataset.id = String(message.id);
  if (message.bot) item.classList.add("bot");
  const meta = document.createElement("span");
  meta.className = "meta";
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = message.author;
  const time = document.createElement("time");
  time.dateTime = message.created_at;
  time.textContent = new Date(message.created_at).toLocaleTimeString();
  meta.append(author, time);
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = message.text;
  item.append(meta, text);
  return item;
}

function showNote(text) {
  const item = document.createElement("li");
  item.className = "note";
  item.dataset.id = "0";
  item.textContent = text;
  $("messages").append(item);
  $("messages").scrollTop = $("messages").scrollHeight;
}

async function sendMessage(event) {
  event.preventDefault();
  const form = event.target;
  const text = form.text.value.trim();
  if (!text || !state.room) return;
  $("send-error").textContent = "";
  try {
    const answer = await api("POST", `/api/rooms/${state.room.id}/messages`, { text });
    form.reset();
    if (answer && answer.status === "queued") {
      showNote(`Sent to the bot: ${text}`);
    } else if (answer) {
      showMessages([answer], { cursor: false });
    }
  } catch (error) {
    if (error.status === 401) return loggedOut();
    $("send-error").textContent = error.retryAfter ? `${error.message}` : error.message;
  }
}

// ---- Long-poll ------------------------------------------------------------------------------------

function stopPolling() {
  if (state.poll) state.poll.abort();
  state.poll = null;
}

async function poll(room) {
  const controller = new AbortController();
  state.poll = controller;
  while (!controller.signal.aborted && state.user && state.room === room) {
    try {
      const messages = await api("GET", `/api/rooms/${room.id}/messages?after=${state.lastID}&wait=${WAIT}`,
                                 undefined, controller.signal);
      if (controller.signal.aborted) return;
      showMessages(messages);
      state.backoff = 0;
      setStatus("");
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error.status === 401) return loggedOut();
      // Network trouble or a restart: wait longer each time, up to 30 s.
      state.backoff = Math.min(30, state.backoff ? state.backoff * 2 : 1);
      setStatus(`Connection lost; retrying in ${state.backoff} s`);
      await sleep(state.backoff * 1000, controller.signal);
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

function setStatus(text) {
  $("status").textContent = text;
}

// ---- Wiring -------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => submitCredentials(event, false));
  $("register-form").addEventListener("submit", (event) => submitCredentials(event, true));
  $("logout").addEventListener("click", logout);
  $("room-form").addEventListener("submit", createRoom);
  $("message-form").addEventListener("submit", sendMessage);
  start();
});
