// The simulator page: one chat per simulated user, the account's custom menu, and the sandbox desk.
// Everything the user does goes to /api/* of the simulator, which delivers it to the real /wechat
// endpoint as WeChat would; later messages (template cards, subscription notices, late replies) come
// from /api/inbox. The account's own pages open inside the phone, where the simulator plays WeChat's
// subscription pop-up for the subscribe page.
// The chats live in sessionStorage: they hold what the user typed (names, ID numbers), so they go
// when the tab closes.
"use strict";

const $ = (selector) => document.querySelector(selector);
const store = {
  get: (key, fallback) => JSON.parse(sessionStorage.getItem(`wxsim:${key}`) || "null") ?? fallback,
  set: (key, value) => sessionStorage.setItem(`wxsim:${key}`, JSON.stringify(value)),
};
const state = {
  config: null,
  users: store.get("users", []),          // [{openid, label}]
  current: store.get("current", null),
  history: {},                            // openid -> [message]
  seen: store.get("seen", {}),            // openid -> timestamp of the newest inbox message shown
  unread: {},
};

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}
const postJSON = (path, body) =>
  api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

// -- the chat ------------------------------------------------------------------------------------
function historyOf(openid) {
  if (!state.history[openid]) state.history[openid] = store.get(`history:${openid}`, []);
  return state.history[openid];
}

function remember(openid, message) {
  const history = historyOf(openid);
  history.push(message);
  store.set(`history:${openid}`, history.slice(-200));
  if (openid === state.current) show(message);
  else { state.unread[openid] = (state.unread[openid] || 0) + 1; renderUsers(); }
}

function show(message) {
  const item = document.createElement("li");
  item.className = message.from;
  if (message.from === "system") {
    item.innerHTML = "<span></span>";
    item.firstChild.textContent = message.text;
  } else {
    const avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.textContent = message.from === "user" ? "我" : "医";
    item.append(avatar, message.type === "template" ? card(message) : bubble(message));
    if (message.type === "error") item.classList.add("error");
  }
  $("#messages").append(item);
  $("#messages").scrollTop = $("#messages").scrollHeight;
}

function bubble(message) {
  const element = document.createElement("div");
  element.className = "bubble";
  if (message.image) {
    const image = document.createElement("img");
    image.src = message.image;
    image.alt = "照片";
    element.append(image);
  } else {
    element.append(...linked(message.text || ""));
  }
  return element;
}

// Text with its links — WeChat's <a href="…">words</a> and bare web addresses (the consent link) —
// built from nodes: never as HTML.
function linked(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(/<a href="([^"]*)">([^<]*)<\/a>|(https?:\/\/[^\s（）()，。<>"]+)/g)) {
    nodes.push(document.createTextNode(text.slice(last, match.index)));
    const [href, words] = match[3] ? [match[3], match[3]] : [unescaped(match[1]), unescaped(match[2])];
    nodes.push(/^https?:\/\//.test(href) ? linkTo(href, words) : document.createTextNode(words));
    last = match.index + match[0].length;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function unescaped(text) {
  const entities = { "&amp;": "&", "&quot;": '"', "&#39;": "'", "&#x27;": "'", "&lt;": "<", "&gt;": ">" };
  return text.replace(/&(amp|quot|#39|#x27|lt|gt);/g, (entity) => entities[entity]);
}

function linkTo(href, words) {
  const link = document.createElement("a");
  link.href = href;
  link.target = "_blank";
  link.textContent = words;
  // The account's own pages (the subscribe page) open in the phone, as in WeChat's browser.
  link.addEventListener("click", (event) => {
    if (new URL(href).origin !== webhookOrigin()) return;
    event.preventDefault();
    openInPhone(href, words);
  });
  return link;
}

function card(message) {
  const element = document.createElement("article");
  element.className = "card";
  const title = document.createElement("h3");
  title.textContent = message.title;
  if (message.channel === "subscription") {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = "订阅通知";
    title.append(tag);
  }
  const time = document.createElement("time");
  time.textContent = new Date(message.at * 1000).toLocaleString("zh-CN");
  const rows = document.createElement("dl");
  for (const row of message.rows) {
    const label = document.createElement("dt");
    label.textContent = row.label;
    const value = document.createElement("dd");
    value.textContent = row.value;
    rows.append(label, value);
  }
  element.append(title, time, rows);
  if (message.url) {
    const more = document.createElement("a");
    more.className = "more";
    more.href = message.url;
    more.target = "_blank";
    more.textContent = "详情 ›";
    element.append(more);
  }
  return element;
}

function showReplies(openid, replies) {
  for (const reply of replies) remember(openid, { from: "bot", ...reply });
}

async function send(body, echo) {
  const openid = state.current;
  if (echo) remember(openid, { from: "user", ...echo });
  try {
    const { replies } = await postJSON("/api/send", { openid, ...body });
    showReplies(openid, replies);
  } catch (error) {
    remember(openid, { from: "bot", type: "error", text: `发送失败：${error.message}` });
  }
}

async function sendPhoto(file) {
  const openid = state.current;
  const preview = await new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.readAsDataURL(file);
  });
  remember(openid, { from: "user", type: "image", image: preview.length < 300000 ? preview : "" , text: "[照片]" });
  const form = new FormData();
  form.append("openid", openid);
  form.append("photo", file);
  try {
    showReplies(openid, (await api("/api/image", { method: "POST", body: form })).replies);
  } catch (error) {
    remember(openid, { from: "bot", type: "error", text: `发送失败：${error.message}` });
  }
}

// -- WeChat's browser and its subscription pop-up -----------------------------------------------------
function webhookOrigin() {
  try { return new URL(state.config.webhook).origin; } catch { return ""; }
}

function openInPhone(href, title) {
  $("#browser-title").textContent = title;
  $("#browser-frame").src = href;
  $("#browser").hidden = false;
}

function closeBrowser() {
  $("#browser").hidden = true;
  $("#browser-frame").src = "about:blank";
}

// The subscribe page cannot run WeChat's open tag here: its stand-in asks for the pop-up by message.
function onPageMessage(event) {
  if (event.origin !== webhookOrigin() || event.data?.type !== "wx-open-subscribe") return;
  const titles = new Map(state.config.notices.map((notice) => [notice.template_id, notice.title]));
  const templates = (event.data.templates || []).filter((id) => typeof id === "string");
  $("#popup-title").textContent = `${state.config.account} 申请向你发送以下通知`;
  $("#popup-notices").replaceChildren(...templates.map((id) => {
    const item = document.createElement("li");
    item.innerHTML = "<label><span></span><input type=checkbox checked></label>";
    item.querySelector("span").textContent = titles.get(id) || id;
    item.querySelector("input").dataset.template = id;
    return item;
  }));
  $("#popup-allow").onclick = () => answerPopup(event.source, templates, true);
  $("#popup-cancel").onclick = () => answerPopup(event.source, templates, false);
  $("#popup").hidden = false;
}

// As WeChat does: the choices go to WeChat (the fake API, which pushes them to the webhook), and
// the page's open tag hears them.
async function answerPopup(page, templates, allowed) {
  $("#popup").hidden = true;
  const ticked = new Set([...document.querySelectorAll("#popup-notices input:checked")].map((box) => box.dataset.template));
  const accept = allowed ? templates.filter((id) => ticked.has(id)) : [];
  const reject = templates.filter((id) => !accept.includes(id));
  try {
    await postJSON("/api/subscribe", { openid: state.current, accept, reject });
  } catch (error) {
    remember(state.current, { from: "system", text: `订阅失败：${error.message}` });
    return;
  }
  const details = Object.fromEntries(templates.map((id) => [id, accept.includes(id) ? "accept" : "reject"]));
  page?.postMessage({ type: "wx-open-subscribe:result", details }, webhookOrigin());
}

// -- the custom menu -------------------------------------------------------------------------------
function renderMenu(buttons) {
  const menu = $("#menu");
  menu.replaceChildren();
  for (const button of buttons) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = button.name;
    if (button.sub_button) {
      element.className = "has-sub";
      element.addEventListener("click", () => toggleSubmenu(element, button.sub_button));
    } else {
      element.addEventListener("click", () => press(button));
    }
    menu.append(element);
  }
}

function toggleSubmenu(anchor, items) {
  const submenu = $("#submenu");
  if (!submenu.hidden && submenu.dataset.anchor === anchor.textContent) { submenu.hidden = true; return; }
  submenu.replaceChildren();
  for (const item of items) {
    const entry = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = item.name;
    button.addEventListener("click", () => { submenu.hidden = true; press(item); });
    entry.append(button);
    submenu.append(entry);
  }
  submenu.dataset.anchor = anchor.textContent;
  submenu.hidden = false;
  const bar = $(".bottombar").getBoundingClientRect(), at = anchor.getBoundingClientRect();
  const left = Math.min(Math.max(at.left - bar.left + at.width / 2 - submenu.offsetWidth / 2, 6),
                        bar.width - submenu.offsetWidth - 6);
  submenu.style.left = `${left}px`;
}

function press(button) {
  if (button.type === "click") send({ click: button.key });
  else if (button.url) window.open(button.url, "_blank");
  else remember(state.current, { from: "system", text: `（模拟器不支持 ${button.type} 类型的菜单）` });
}

// -- users ---------------------------------------------------------------------------------------
function renderUsers() {
  const select = $("#user-select");
  select.replaceChildren();
  for (const user of state.users) {
    const option = document.createElement("option");
    option.value = user.openid;
    const unread = state.unread[user.openid];
    option.textContent = `${user.label}（${user.openid}）${unread ? ` · ${unread} 条新消息` : ""}`;
    option.selected = user.openid === state.current;
    select.append(option);
  }
  $("#who").textContent = state.users.find((u) => u.openid === state.current)?.label || "";
}

function switchTo(openid) {
  state.current = openid;
  store.set("current", openid);
  delete state.unread[openid];
  renderUsers();
  $("#messages").replaceChildren();
  historyOf(openid).forEach(show);
}

async function addUser() {
  const number = state.users.length + 1;
  const user = { openid: `o_sim_user${number}_${Math.random().toString(36).slice(2, 6)}`, label: `用户${number}` };
  state.users.push(user);
  store.set("users", state.users);
  state.seen[user.openid] = Date.now() / 1000;
  store.set("seen", state.seen);
  switchTo(user.openid);
  remember(user.openid, { from: "system", text: "你关注了公众号" });
  await send({ follow: true });
}

// -- polling: late messages and the sandbox desk ---------------------------------------------------
async function pollInbox() {
  for (const { openid } of state.users) {
    const { messages } = await api(`/api/inbox?openid=${encodeURIComponent(openid)}&after=${state.seen[openid] || 0}`);
    for (const message of messages) {
      remember(openid, { from: "bot", ...message });
      state.seen[openid] = Math.max(state.seen[openid] || 0, message.at);
    }
    if (messages.length) store.set("seen", state.seen);
  }
}

async function pollDesk() {
  const desk = await api("/api/desk");
  const sms = $("#sms");
  sms.replaceChildren(...(desk.sms.length ? desk.sms.map(smsItem) : [empty()]));
  const applications = $("#applications");
  applications.replaceChildren(...(desk.applications.length ? desk.applications.map(applicationItem) : [empty()]));
}

function empty() {
  const item = document.createElement("li");
  item.className = "empty";
  item.textContent = state.config.desk ? "暂无" : "（绑定服务不是沙箱，没有经办台）";
  return item;
}

function smsItem({ challenge, code }) {
  const item = document.createElement("li");
  item.innerHTML = "<code></code><small></small>";
  item.querySelector("code").textContent = code;
  item.querySelector("small").textContent = `验证 ${challenge}`;
  return item;
}

function applicationItem(application) {
  const item = document.createElement("li");
  item.dataset.application = application.application_id;
  const what = document.createElement("div");
  what.textContent = `${application.relationship} ${application.member}（${application.id_number}）`;
  const actions = document.createElement("div");
  actions.className = "actions";
  const approve = document.createElement("button");
  approve.className = "approve";
  approve.textContent = "通过";
  approve.addEventListener("click", () => decide(application.application_id, true));
  const reason = document.createElement("select");
  for (const option of state.config.reject_reasons) reason.add(new Option(option.text, option.code));
  const reject = document.createElement("button");
  reject.className = "reject";
  reject.textContent = "不通过";
  reject.addEventListener("click", () => decide(application.application_id, false, reason.value));
  actions.append(approve, reason, reject);
  item.append(what, actions);
  return item;
}

async function decide(applicationId, approve, reason) {
  try {
    await postJSON("/api/desk/decide", { application_id: applicationId, approve, reason });
  } catch (error) {
    alert(`审核失败：${error.message}`);
  }
  pollDesk();
}

function every(milliseconds, task) {
  const run = () => task().catch(() => {}).finally(() => setTimeout(run, milliseconds));
  run();
}

// -- start -------------------------------------------------------------------------------------------
async function start() {
  state.config = await api("/api/config");
  $("#account").textContent = state.config.account;
  $("#mode").textContent = `消息经真实 /wechat 接口收发：${state.config.mode === "plaintext" ? "明文模式" :
    state.config.mode === "safe" ? "安全模式（AES 加密）" : "兼容模式"}，带签名。`;
  renderMenu(state.config.menu);
  $("#to-keyboard").addEventListener("click", () => { $("#menubar").hidden = true; $("#inputbar").hidden = false; $("#submenu").hidden = true; $("#text").focus(); });
  $("#to-menu").addEventListener("click", () => { $("#inputbar").hidden = true; $("#menubar").hidden = false; });
  $("#inputbar").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#text").value.trim();
    if (!text) return;
    $("#text").value = "";
    send({ text }, { type: "text", text });
  });
  $("#photo").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) sendPhoto(file);
    event.target.value = "";
  });
  $("#user-select").addEventListener("change", (event) => { closeBrowser(); switchTo(event.target.value); });
  $("#browser-close").addEventListener("click", closeBrowser);
  window.addEventListener("message", onPageMessage);
  $("#add-user").addEventListener("click", addUser);
  const consent = new URLSearchParams(location.search).get("consent");
  if (consent) {
    // Opened from a consent link: the member is someone else — a new user, with the answer ready.
    history.replaceState(null, "", "/");
    await addUser();
    $("#to-keyboard").click();
    $("#text").value = `同意 ${consent}`;
  } else if (state.users.some((u) => u.openid === state.current)) switchTo(state.current);
  else await addUser();
  every(1200, pollInbox);
  every(1500, pollDesk);
}

start();
