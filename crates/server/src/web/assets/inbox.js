/* Switchboard operator inbox: the handoff queue and live conversations of the
 * operator's organisation, through the admin API (/admin/handoffs…) and its live
 * event stream. Untrusted text (visitors, operators) only reaches the DOM as text
 * nodes: nothing here assigns HTML. */
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const KEY = 'switchboard:inbox:token';

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids) if (kid != null) el.append(kid);
    return el;
  }

  const state = { token: null, me: null, open: null, handoff: null, stream: null, reload: 0 };

  function token() {
    try {
      return sessionStorage.getItem(KEY);
    } catch (_) {
      return state.token;
    }
  }

  function setToken(value) {
    state.token = value;
    try {
      if (value) sessionStorage.setItem(KEY, value);
      else sessionStorage.removeItem(KEY);
    } catch (_) {}
  }

  async function api(method, path, body) {
    const init = { method, headers: { authorization: `Bearer ${token()}` }, credentials: 'omit' };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) {
      const e = new Error((data && data.error && data.error.message) || `HTTP ${r.status}`);
      e.status = r.status;
      throw e;
    }
    return data;
  }

  function status(text) {
    $('status').textContent = text;
  }

  const time = (iso) => {
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  };

  // ---- signing in ----
  async function signIn() {
    try {
      state.me = await api('GET', '/admin/me');
    } catch (e) {
      setToken(null);
      $('signin-error').textContent = e.status === 401 ? 'That token was not accepted.' : e.message;
      return;
    }
    if (state.me.role === 'basic') {
      setToken(null);
      $('signin-error').textContent = 'Operators are curators or administrators; this token is a basic user’s.';
      return;
    }
    $('signin').hidden = true;
    $('desk').hidden = false;
    $('signout').hidden = false;
    $('who').textContent = `${state.me.displayName || state.me.userId} · ${state.me.orgId}`;
    document.body.dataset.state = 'ready';
    await refresh();
    listen();
    // New conversations with the agent make no handoff notice: look now and then.
    setInterval(refresh, 20000);
  }

  $('signin').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('signin-error').textContent = '';
    setToken($('token').value.trim());
    $('token').value = '';
    signIn();
  });

  $('signout').addEventListener('click', () => {
    setToken(null);
    if (state.stream) state.stream.abort();
    location.reload();
  });

  // ---- the lists ----
  async function refresh() {
    try {
      const [queue, live, recent] = await Promise.all([
        api('GET', '/admin/handoffs?status=queued&limit=200'),
        api('GET', '/admin/handoffs?status=claimed&limit=200'),
        api('GET', '/admin/conversations?limit=30'),
      ]);
      list($('queue'), $('queue-count'), queue.handoffs, 'Nobody is waiting.');
      list($('live'), $('live-count'), live.handoffs, 'No live conversations.');
      // The newest conversations a person does not own: an operator may step in.
      const owned = new Set([...queue.handoffs, ...live.handoffs].map((x) => x.conversationId));
      others($('recent'), recent.conversations.filter((c) => !owned.has(c.id)));
    } catch (e) {
      status(e.message);
    }
  }

  function list(ul, count, handoffs, none) {
    count.textContent = String(handoffs.length);
    ul.replaceChildren();
    if (!handoffs.length) ul.append(h('li', { class: 'empty', text: none }));
    for (const x of handoffs) {
      const who = x.operator ? ` · ${x.operator.name}` : '';
      ul.append(h('li', {},
        h('button', { type: 'button', 'data-conversation': x.conversationId,
          'aria-current': String(x.conversationId === state.open), onclick: () => open(x.conversationId) },
          h('span', { class: 'reason', text: x.reason }),
          h('span', { class: 'meta', text: `${x.trigger} · ${time(x.queuedAt)}${who}` }))));
    }
  }

  function others(ul, conversations) {
    ul.replaceChildren();
    if (!conversations.length) ul.append(h('li', { class: 'empty', text: 'None yet.' }));
    for (const c of conversations)
      ul.append(h('li', {},
        h('button', { type: 'button', 'data-conversation': c.id,
          'aria-current': String(c.id === state.open), onclick: () => open(c.id) },
          h('span', { class: 'reason', text: c.name }),
          h('span', { class: 'meta', text: `updated ${time(c.updatedAt)}` }))));
  }

  function scheduleRefresh() {
    clearTimeout(state.reload);
    state.reload = setTimeout(refresh, 150);
  }

  // ---- one conversation ----
  async function open(id) {
    state.open = id;
    for (const b of document.querySelectorAll('nav li button'))
      b.setAttribute('aria-current', String(b.dataset.conversation === id));
    $('pick').hidden = true;
    $('open').hidden = false;
    $('thread-error').textContent = '';
    $('log').replaceChildren();
    try {
      const [one, page] = await Promise.all([
        api('GET', `/admin/handoffs/${id}`),
        api('GET', `/admin/conversations/${id}/messages?limit=200`),
      ]);
      if (state.open !== id) return;
      state.handoff = one.handoff;
      for (const m of page.messages) addMessage(m.direction, m.content.text, m.from && (m.from.name || 'Team'), m.id);
      header();
    } catch (e) {
      $('thread-error').textContent = e.message;
    }
  }

  function header() {
    const x = state.handoff;
    const mine = x && x.status === 'claimed' && x.operator && x.operator.userId === state.me.userId;
    const waiting = x && x.status === 'queued';
    $('thread-title').textContent = !x ? 'With the agent'
      : x.status === 'claimed' ? `Answered by ${x.operator.name}`
      : x.status === 'queued' ? 'Waiting for a person'
      : x.status === 'returned' ? 'Handed back to the agent' : 'Closed';
    $('thread-reason').textContent = x ? x.reason : '';
    $('claim').hidden = mine;
    $('claim').disabled = !!(x && x.status === 'claimed' && !mine);
    $('claim').textContent = !x || x.status === 'returned' || x.status === 'closed' ? 'Take over' : 'Claim';
    $('handback').disabled = !(mine || waiting);
    $('close').disabled = !(mine || waiting);
    $('reply').disabled = !mine;
    $('send').disabled = !mine;
  }

  function addMessage(direction, text, from, id) {
    const log = $('log');
    if (id && log.querySelector(`[data-id="${CSS.escape(id)}"]`)) return;
    const cls = `msg ${direction}${from ? ' operator' : ''}`;
    const label = direction === 'inbound' ? 'Visitor' : from ? `${from} · team` : 'Agent';
    log.append(h('div', { class: cls, 'data-id': id }, h('span', { class: 'who', text: label }), text));
    log.scrollTop = log.scrollHeight;
  }

  async function act(action) {
    const id = state.open;
    $('thread-error').textContent = '';
    try {
      state.handoff = await api('POST', `/admin/handoffs/${id}/${action}`);
      header();
      scheduleRefresh();
    } catch (e) {
      $('thread-error').textContent = e.message;
      open(id);
    }
  }

  $('claim').addEventListener('click', () => act('claim'));
  $('handback').addEventListener('click', () => act('return'));
  $('close').addEventListener('click', () => act('close'));

  $('compose').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('reply').value.trim();
    if (!text || !state.open) return;
    $('send').disabled = true;
    try {
      const r = await api('POST', `/admin/handoffs/${state.open}/reply`, { text });
      $('reply').value = '';
      addMessage('outbound', r.message.content.text, (r.message.from && r.message.from.name) || 'You', r.message.id);
    } catch (e) {
      $('thread-error').textContent = e.message;
    } finally {
      header();
    }
  });

  $('reply').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $('compose').requestSubmit();
    }
  });

  // ---- live: server-sent events over fetch (EventSource cannot send a token) ----
  async function listen(retry = 0) {
    const abort = new AbortController();
    state.stream = abort;
    try {
      const r = await fetch('/admin/handoffs/events', {
        headers: { authorization: `Bearer ${token()}` }, credentials: 'omit', signal: abort.signal });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = '';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (name) onEvent(name, data);
        }
        retry = 0;
      }
    } catch (_) {
      if (abort.signal.aborted) return;
    }
    status('Reconnecting…');
    document.body.dataset.live = 'false';
    setTimeout(() => listen(retry + 1), Math.min(15000, 500 * 2 ** retry));
  }

  function onEvent(name, data) {
    if (name === 'ready') {
      status('Live');
      document.body.dataset.live = 'true';
      return scheduleRefresh();
    }
    if (name === 'resync') {
      scheduleRefresh();
      if (state.open) open(state.open);
      return;
    }
    if (name !== 'handoff') return;
    let n;
    try {
      n = JSON.parse(data);
    } catch (_) {
      return;
    }
    if (n.kind !== 'message') scheduleRefresh();
    if (n.conversationId !== state.open) return;
    state.handoff = n.handoff;
    header();
    if (n.kind === 'message' && n.message)
      addMessage(n.message.direction, n.message.text, n.message.from, n.message.id);
  }

  if (token()) {
    $('signin').hidden = true;
    signIn();
  }
})();
