/* Switchboard chat: the <switchboard-chat> element, used full-screen by the chat page
 * at / and as a launcher + panel by the website widget:
 *   <script src="https://HOST/widget.js" data-agent-id="AGENT-UUID" async></script>
 * It speaks the smooth-operator WebSocket protocol to the host it was loaded from.
 * Untrusted text (model, documents, users) only ever reaches the DOM as text nodes:
 * nothing here assigns HTML. */
(() => {
  'use strict';
  const script = document.currentScript;
  const origin = new URL(script && script.src ? script.src : location.href).origin;
  const WS_URL = origin.replace(/^http/, 'ws') + '/ws';
  const DEFAULT_AGENT = '11111111-1111-1111-1111-111111111111';
  const SUPPORTS = ['identity_form', 'choice_chips'];

  const CSS = `
:host{all:initial;display:block;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
 --bg:#fff;--fg:#1b1f24;--muted:#59636e;--line:#d5dbe1;--soft:#f3f5f7;--accent:#0b5cad;--accent-fg:#fff;
 --user:#e6f0fb;--danger:#b3261e;--ok:#1e7a3d;color:var(--fg)}
@media (prefers-color-scheme:dark){:host{--bg:#15181c;--fg:#e8eaed;--muted:#a3acb6;--line:#343a42;
 --soft:#1f2429;--accent:#6cb0ff;--accent-fg:#0b1320;--user:#1d2f45;--danger:#ff8a80;--ok:#7bd88f}}
*{box-sizing:border-box}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,input,select,textarea{font:inherit;color:inherit}
button{cursor:pointer;border:1px solid var(--line);background:var(--soft);border-radius:8px;padding:6px 12px}
button.primary{background:var(--accent);color:var(--accent-fg);border-color:var(--accent)}
button.danger{color:var(--danger)}
button:disabled{opacity:.55;cursor:default}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.root{height:100%}
.panel{display:flex;height:100%;background:var(--bg);color:var(--fg);position:relative;overflow:hidden}
.side{width:260px;flex:none;border-right:1px solid var(--line);background:var(--soft);display:flex;flex-direction:column;padding:10px;gap:8px;overflow:auto}
.side h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:6px 4px}
.side ul{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:2px}
.side li{display:flex;gap:4px;align-items:center}
.side li .open{flex:1;text-align:left;background:transparent;border-color:transparent;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.side li .open[aria-current=true]{background:var(--bg);border-color:var(--line);font-weight:600}
.side li .ren{padding:4px 8px;background:transparent;border-color:transparent}
.side input{width:100%;padding:6px;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
.main{flex:1;display:flex;flex-direction:column;min-width:0}
header{display:flex;align-items:center;gap:8px;padding:8px 12px;border-bottom:1px solid var(--line)}
header h1{font-size:16px;margin:0;flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
header select{padding:4px;border:1px solid var(--line);border-radius:6px;background:var(--bg);max-width:45%}
.notice{margin:8px 12px 0;padding:8px 10px;border-radius:8px;background:var(--soft);border:1px solid var(--line)}
.notice:empty{display:none}
.notice.bad{border-color:var(--danger);color:var(--danger)}
.notice code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.log{flex:1;overflow:auto;padding:12px;display:flex;flex-direction:column;gap:10px}
.empty{color:var(--muted);margin:auto;text-align:center}
.msg{max-width:min(46em,92%);padding:8px 12px;border-radius:12px;overflow-wrap:anywhere}
.msg.user{align-self:flex-end;background:var(--user);white-space:pre-wrap}
.msg.agent{align-self:flex-start;background:var(--soft);border:1px solid var(--line)}
.msg.note{align-self:center;color:var(--muted);font-size:13px;padding:2px 8px}
.msg.err{align-self:stretch;border:1px solid var(--danger);color:var(--danger);background:transparent}
.msg p{margin:.35em 0}.msg ul,.msg ol{margin:.35em 0;padding-left:1.4em}
.msg pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px;overflow:auto;white-space:pre}
.msg code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.msg a{color:var(--accent)}
.cites{margin:6px 0 0;padding:6px 0 0;border-top:1px solid var(--line);font-size:13px;list-style:none}
.cites li{margin:3px 0}.cites .snip{display:block;color:var(--muted)}
.card{align-self:stretch;border:1px solid var(--accent);border-radius:12px;padding:10px 12px;background:var(--bg)}
.card h3{margin:0 0 6px;font-size:15px}
.card pre{white-space:pre-wrap;background:var(--soft);padding:8px;border-radius:6px;margin:6px 0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.card .row{display:flex;gap:8px;flex-wrap:wrap;margin-top:8px}
.card fieldset{border:0;padding:0;margin:6px 0}
.card legend{font-weight:600;margin-bottom:4px}
.card label.opt{display:inline-flex;gap:6px;align-items:center;border:1px solid var(--line);border-radius:999px;padding:4px 10px;margin:2px}
.card .field{display:flex;flex-direction:column;gap:2px;margin:6px 0}
.card .field input{padding:6px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
.card .field input[aria-invalid=true]{border-color:var(--danger)}
.card .ferr{color:var(--danger);font-size:13px}
.card .done{color:var(--muted);font-style:italic}
form.compose{display:flex;gap:8px;padding:10px 12px;border-top:1px solid var(--line);align-items:flex-end}
form.compose textarea{flex:1;resize:none;min-height:42px;max-height:160px;padding:9px 10px;border:1px solid var(--line);border-radius:10px;background:var(--bg)}
.status{font-size:12px;color:var(--muted)}
.menu{display:none}
.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;z-index:2147483646;
 background:var(--accent);color:var(--accent-fg);border:0;font-size:24px;box-shadow:0 4px 16px rgba(0,0,0,.25)}
.root.widget .panel{position:fixed;right:20px;bottom:88px;width:min(400px,calc(100vw - 24px));height:min(620px,calc(100vh - 110px));
 z-index:2147483647;border:1px solid var(--line);border-radius:14px;box-shadow:0 8px 32px rgba(0,0,0,.3)}
.root.widget .panel[hidden]{display:none}
.root.widget .side,.root.narrow .side{position:absolute;inset:0 auto 0 0;z-index:2;width:min(280px,85%);box-shadow:4px 0 16px rgba(0,0,0,.2);display:none}
.root.widget.show-side .side,.root.narrow.show-side .side{display:flex}
.root.widget .menu,.root.narrow .menu{display:inline-block}
@media (max-width:480px){.root.widget .panel{right:12px;bottom:80px;width:calc(100vw - 24px)}.launcher{right:12px;bottom:12px}}
`;

  /** Builds an element: attributes, `on*` listeners, `text`, and children (strings become text nodes). */
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat()) if (kid != null) el.append(kid);
    return el;
  }

  /** The launcher's speech-bubble icon, drawn as SVG (no emoji font needed). */
  function icon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '26');
    svg.setAttribute('height', '26');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
    svg.append(path);
    return svg;
  }

  /** Links only to http(s) addresses; anything else stays text. */
  function safeUrl(raw) {
    try {
      const u = new URL(raw);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (_) {
      return null;
    }
  }

  /** A link that opens apart from the chat; `href` is empty unless it is http(s). */
  function link(raw, text) {
    const href = safeUrl(raw);
    return h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: text || null });
  }

  const INLINE = /(`+)([^`]+?)\1|\*\*(.+?)\*\*|(?<![\w.])__(\S(?:.*?\S)?)__(?!\w)|\*([^*\s](?:.*?[^*\s])?)\*|(?<![\w.])_([^_\s](?:.*?[^_\s])?)_(?!\w)|\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

  /** Inline Markdown (code, bold, italic, links) as DOM nodes built from text. */
  function inline(text, into) {
    // A fresh matcher per call: the recursion for bold, italic and links must not
    // move this loop's position.
    const re = new RegExp(INLINE.source, 'g');
    let last = 0;
    for (let m; (m = re.exec(text)); ) {
      if (m.index > last) into.append(text.slice(last, m.index));
      last = re.lastIndex;
      if (m[2] != null) into.append(h('code', { text: m[2] }));
      else if (m[3] != null || m[4] != null) inline(m[3] ?? m[4], into.appendChild(h('strong')));
      else if (m[5] != null || m[6] != null) inline(m[5] ?? m[6], into.appendChild(h('em')));
      else if (m[9] != null) into.append(link(m[9], m[9]));
      else into.append(safeUrl(m[8]) ? inline(m[7], link(m[8])) : m[0]);
    }
    if (last < text.length) into.append(text.slice(last));
    return into;
  }

  /** Block Markdown: paragraphs, headings (as bold), fenced code, lists. */
  function markdown(src) {
    const out = document.createDocumentFragment();
    const lines = String(src).replace(/\r\n?/g, '\n').split('\n');
    let para = [];
    let list = null;
    const flush = () => {
      if (para.length) out.append(inline(para.join('\n'), h('p')));
      para = [];
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = line.match(/^\s*```/);
      if (fence) {
        flush();
        list = null;
        const code = [];
        for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
        out.append(h('pre', {}, h('code', { text: code.join('\n') })));
        continue;
      }
      const item = line.match(/^\s*([-*+]|\d+[.)])\s+(.*)$/);
      if (item) {
        flush();
        const tag = /\d/.test(item[1]) ? 'ol' : 'ul';
        if (!list || list.tagName.toLowerCase() !== tag) out.append((list = h(tag)));
        list.append(inline(item[2], h('li')));
        continue;
      }
      if (!line.trim()) {
        flush();
        list = null;
        continue;
      }
      const head = line.match(/^\s*#{1,6}\s+(.*)$/);
      if (head) {
        flush();
        list = null;
        out.append(h('p', {}, inline(head[1], h('strong'))));
        continue;
      }
      if (list && /^\s{2,}\S/.test(line)) {
        list.lastChild.append(' ', ...inline(line.trim(), document.createDocumentFragment()).childNodes);
        continue;
      }
      list = null;
      para.push(line);
    }
    flush();
    return out;
  }

  const FRIENDLY = {
    RATE_LIMITED: 'You are sending messages too quickly. Wait a moment, then try again.',
    LLM_RATE_LIMITED: 'The assistant is busy right now (its model is rate limited). Please try again in a minute.',
    LLM_UNAVAILABLE: 'The assistant’s model is unavailable right now. Please try again in a little while.',
    LLM_TIMEOUT: 'The assistant’s model took too long to answer. Please try again.',
    LLM_ERROR: 'The assistant’s model could not answer this request.',
    STORAGE_ERROR: 'Your conversation could not be saved just now. Please try again.',
    TURN_IN_PROGRESS: 'Please wait for the current answer to finish, or press Stop.',
    ORIGIN_NOT_ALLOWED: 'This website is not allowed to use this chat. The site owner must add it to the agent’s allowed origins.',
    AGENT_NOT_AUTHORIZED: 'This chat is not enabled for websites yet. The site owner must give the agent a widget policy.',
    AUTH_CONTEXT_INVALID: 'Your sign-in for this chat could not be verified. Reload the page and try again.',
  };
  const REFUSALS = new Set(['ORIGIN_NOT_ALLOWED', 'AGENT_NOT_AUTHORIZED', 'AUTH_CONTEXT_INVALID']);
  const errorOf = (f) => (f && (f.error || (f.data && f.data.error))) || { code: 'ERROR', message: 'Something went wrong.' };
  const friendly = (e) => FRIENDLY[e.code] || e.message || 'Something went wrong.';

  /** The text of an `eventual_response`'s `response`, whatever its shape. */
  function textOf(r) {
    if (r == null) return '';
    if (typeof r === 'string') return r;
    if (Array.isArray(r)) return r.map(textOf).filter(Boolean).join('\n\n');
    if (typeof r === 'object') return textOf(r.responseParts ?? r.text ?? r.content ?? r.message ?? '');
    return String(r);
  }

  let counter = 0;
  const rid = (p) => `${p}-${Date.now().toString(36)}-${++counter}`;

  class SwitchboardChat extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      this.mode = this.getAttribute('mode') === 'widget' ? 'widget' : 'page';
      this.pending = new Map();
      this.turn = null;
      this.retry = 0;
      const root = this.attachShadow({ mode: 'open' });
      if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function') {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } else root.append(h('style', { text: CSS }));
      this.build(root);
      if (this.mode === 'page') this.start();
    }

    disconnectedCallback() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.ws) this.ws.close();
    }

    build(root) {
      const panelId = 'sb-panel';
      this.els = {};
      const e = this.els;
      e.side = h('nav', { class: 'side', 'aria-label': 'Your conversations',
        onkeydown: (ev) => {
          if (ev.key !== 'Escape' || !this.els.root.classList.contains('show-side')) return;
          ev.stopPropagation();
          this.toggleSide(false);
        } },
        h('button', { class: 'primary', type: 'button', text: 'New conversation', onclick: () => this.newConversation() }),
        h('button', { class: 'menu', type: 'button', text: 'Close list', onclick: () => this.toggleSide(false) }),
        h('h2', { text: 'Conversations' }),
        (e.list = h('ul')));
      e.title = h('h1', { text: 'Chat' });
      e.menu = h('button', { class: 'menu', type: 'button', 'aria-label': 'Show conversations', 'aria-expanded': 'false', text: '☰',
        onclick: () => this.toggleSide() });
      e.picker = h('select', { 'aria-label': 'Agent', hidden: true, onchange: () => this.pickAgent(e.picker.value) });
      e.status = h('span', { class: 'status', role: 'status', text: '' });
      const header = h('header', {}, e.menu, e.title, e.picker, e.status);
      if (this.mode === 'widget')
        header.append(h('button', { type: 'button', 'aria-label': 'Close chat', text: '✕', onclick: () => this.setOpen(false) }));
      e.notice = h('div', { class: 'notice', role: 'status' });
      e.alert = h('div', { class: 'notice bad', role: 'alert' });
      e.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
      e.input = h('textarea', { id: 'sb-input', rows: '1', placeholder: 'Ask a question…', autocomplete: 'off',
        onkeydown: (ev) => {
          if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
            ev.preventDefault();
            this.send();
          }
        } });
      e.sendBtn = h('button', { class: 'primary', type: 'submit', text: 'Send' });
      e.stopBtn = h('button', { class: 'danger', type: 'button', text: 'Stop', hidden: true, onclick: () => this.cancel() });
      e.form = h('form', { class: 'compose', onsubmit: (ev) => { ev.preventDefault(); this.send(); } },
        h('label', { class: 'sr', for: 'sb-input', text: 'Your message' }), e.input, e.stopBtn, e.sendBtn);
      e.panel = h('section', { class: 'panel', id: panelId, role: 'region', 'aria-label': 'Chat' }, e.side,
        h('div', { class: 'main' }, header, e.notice, e.alert, e.log, e.form));
      e.root = h('div', { class: `root ${this.mode}` });
      if (this.mode === 'widget') {
        e.launcher = h('button', { class: 'launcher', type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false',
          'aria-controls': panelId, onclick: () => this.setOpen(e.panel.hidden) }, icon());
        e.panel.hidden = true;
        e.root.append(e.launcher);
        e.panel.addEventListener('keydown', (ev) => ev.key === 'Escape' && this.setOpen(false));
      } else {
        const narrow = matchMedia('(max-width: 760px)');
        const apply = () => e.root.classList.toggle('narrow', narrow.matches);
        apply();
        narrow.addEventListener('change', apply);
      }
      e.root.append(e.panel);
      root.append(e.root);
      this.showEmpty();
    }

    /** Widget: opens or closes the panel; the first opening connects. */
    setOpen(open) {
      const e = this.els;
      e.panel.hidden = !open;
      e.launcher.setAttribute('aria-expanded', String(open));
      e.launcher.setAttribute('aria-label', open ? 'Close chat' : 'Open chat');
      if (open) {
        if (!this.started) this.start();
        e.input.focus();
      } else e.launcher.focus();
    }

    toggleSide(show) {
      const on = this.els.root.classList.toggle('show-side', show);
      this.els.menu.setAttribute('aria-expanded', String(on));
      if (on) this.els.side.querySelector('button').focus();
      else if (show === false && this.els.side.contains(this.shadowRoot.activeElement)) this.els.menu.focus();
    }

    // ---- storage: the conversation survives a reload ----
    key(name) {
      return `switchboard:${this.agentId}:${name}`;
    }
    load(name) {
      try {
        return JSON.parse(localStorage.getItem(this.key(name)));
      } catch (_) {
        return null;
      }
    }
    save(name, value) {
      try {
        if (value == null) localStorage.removeItem(this.key(name));
        else localStorage.setItem(this.key(name), JSON.stringify(value));
      } catch (_) {
        /* storage may be off: the chat still works for this page view */
      }
    }
    remember(id, title) {
      const list = (this.load('list') || []).filter((c) => c.id !== id);
      const old = (this.load('list') || []).find((c) => c.id === id);
      list.unshift({ id, title: title || (old && old.title) || 'New conversation' });
      this.save('list', list.slice(0, 30));
    }

    async start() {
      this.started = true;
      const params = new URLSearchParams(location.search);
      this.agentId = this.getAttribute('agent-id') || (this.mode === 'page' && params.get('agent')) || null;
      let info = { agents: [], hasDocuments: true };
      try {
        const r = await fetch(origin + '/api/agents', { credentials: 'omit' });
        if (r.ok) info = await r.json();
      } catch (_) {
        /* the list is a convenience: chat still works without it */
      }
      this.agents = info.agents || [];
      if (!this.agentId) {
        let last = null;
        try {
          last = localStorage.getItem('switchboard:agent');
        } catch (_) {}
        this.agentId = (this.agents.find((a) => a.id === last) || this.agents[0] || { id: DEFAULT_AGENT }).id;
      }
      if (this.mode === 'page' && this.agents.length > 1) {
        const p = this.els.picker;
        for (const a of this.agents) p.append(h('option', { value: a.id, text: a.name, selected: a.id === this.agentId }));
        p.hidden = false;
      }
      if (this.mode === 'page' && info.hasDocuments === false) {
        const code = (t) => h('code', { text: t });
        this.els.notice.append('No documents yet, so answers cannot cite anything. Add some: set ',
          code('SMOOTH_AGENT_KNOWLEDGE_PATH=./docs'), ' (a folder of Markdown), run ', code('switchboard ingest ./docs'),
          ', or start with ', code('SMOOTH_AGENT_SEED_KB=1'), ' for the demo knowledge base.');
      }
      this.conversation = this.load('conversation');
      this.connect();
    }

    pickAgent(id) {
      try {
        localStorage.setItem('switchboard:agent', id);
      } catch (_) {}
      this.agentId = id;
      this.conversation = this.load('conversation');
      this.openSession(true);
    }

    // ---- the connection ----
    connect() {
      if (this.stopped || this.refused) return;
      clearTimeout(this.timer);
      this.setStatus('Connecting…');
      const ws = new WebSocket(WS_URL);
      this.ws = ws;
      ws.onopen = () => {
        this.retry = 0;
        this.els.alert.textContent = '';
        this.openSession(true);
      };
      ws.onmessage = (ev) => {
        let f;
        try {
          f = JSON.parse(ev.data);
        } catch (_) {
          return;
        }
        this.onFrame(f);
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.session = null;
        if (!this.refused) this.dataset.state = 'offline';
        for (const resolve of this.pending.values()) resolve({ type: 'error', error: { code: 'DISCONNECTED', message: 'The connection was lost.' } });
        this.pending.clear();
        if (this.turn) this.endTurn('The connection was lost before the answer finished.');
        if (this.stopped || this.refused) return;
        const delay = Math.min(30000, 500 * 2 ** this.retry++) * (0.75 + Math.random() / 2);
        this.setStatus('Offline');
        this.els.alert.textContent = '';
        this.els.alert.append(`Connection lost. Reconnecting in ${Math.ceil(delay / 1000)} s… `,
          h('button', { type: 'button', text: 'Reconnect now', onclick: () => this.connect() }));
        this.timer = setTimeout(() => this.connect(), delay);
      };
    }

    request(frame) {
      const requestId = frame.requestId || rid(frame.action);
      return new Promise((resolve) => {
        if (!this.ws || this.ws.readyState !== 1)
          return resolve({ type: 'error', error: { code: 'DISCONNECTED', message: 'Not connected. Reconnecting…' } });
        this.pending.set(requestId, resolve);
        this.ws.send(JSON.stringify({ ...frame, requestId }));
      });
    }

    setStatus(text) {
      this.els.status.textContent = text;
    }

    /** Creates (or resumes) the session, then shows the conversation and the sidebar. */
    async openSession(showHistory) {
      const frame = { action: 'create_conversation_session', agentId: this.agentId, supports: SUPPORTS };
      if (this.conversation) frame.conversationId = this.conversation;
      const a = this.getAttribute.bind(this);
      if (a('user-id') && a('signature') && a('timestamp'))
        frame.authContext = { userId: a('user-id'), signature: a('signature'), timestamp: Number(a('timestamp')) };
      const r = await this.request(frame);
      if (r.type === 'error') {
        const e = errorOf(r);
        if (REFUSALS.has(e.code)) return this.refuse(e);
        if (e.code !== 'DISCONNECTED') this.els.alert.textContent = friendly(e);
        return;
      }
      const d = r.data;
      const previous = this.load('session');
      const resumed = this.conversation === d.conversationId;
      this.session = d.sessionId;
      this.answerSession = d.sessionId;
      this.conversation = d.conversationId;
      this.els.title.textContent = d.agentName || 'Chat';
      this.save('conversation', d.conversationId);
      this.save('session', d.sessionId);
      this.setStatus('');
      this.dataset.state = 'ready';
      if (showHistory) {
        this.els.log.textContent = '';
        if (resumed) await this.history();
        else this.showEmpty();
      }
      // A turn left waiting for an answer on the previous session asks again.
      if (resumed && previous && previous !== d.sessionId) {
        const g = await this.request({ action: 'get_session', sessionId: previous });
        if (g.type !== 'error') this.answerSession = previous;
      }
      this.refreshList();
    }

    refuse(e) {
      this.refused = true;
      this.els.alert.textContent = '';
      this.els.alert.append(h('strong', { text: friendly(e) }), h('br'), e.message || '');
      this.els.log.replaceChildren();
      this.els.input.disabled = true;
      this.els.sendBtn.disabled = true;
      this.setStatus('Refused');
      this.dataset.state = 'refused';
      if (this.ws) this.ws.close();
    }

    async history() {
      const r = await this.request({ action: 'get_conversation_messages', sessionId: this.session, limit: 50 });
      if (r.type === 'error') return;
      const messages = (r.data.messages || []).slice().reverse();
      if (!messages.length) return this.showEmpty();
      for (const m of messages) {
        const text = (m.content && m.content.text) || '';
        if (m.direction === 'inbound') this.addUser(text);
        else this.addAgent().append(markdown(text));
      }
      this.scroll();
    }

    async refreshList() {
      const r = await this.request({ action: 'list_conversations', limit: 50 });
      const server = r.type === 'error' ? [] : r.data.conversations || [];
      const local = this.load('list') || [];
      const rows = server.map((c) => ({ id: c.conversationId, title: c.title }));
      for (const c of local) if (!rows.some((x) => x.id === c.id)) rows.push(c);
      this.save('list', rows.slice(0, 30));
      const list = this.els.list;
      list.textContent = '';
      for (const c of rows) {
        const open = h('button', { class: 'open', type: 'button', text: c.title || 'Conversation', title: c.title,
          'aria-current': c.id === this.conversation ? 'true' : 'false', onclick: () => this.openConversation(c.id) });
        const ren = h('button', { class: 'ren', type: 'button', text: '✎', 'aria-label': `Rename “${c.title}”`,
          onclick: () => this.rename(li, c) });
        const li = h('li', {}, open, ren);
        list.append(li);
      }
      if (!rows.length) list.append(h('li', { class: 'status', text: 'None yet.' }));
    }

    rename(li, c) {
      const input = h('input', { value: c.title || '', 'aria-label': 'New title' });
      const done = async (commit) => {
        if (commit && input.value.trim()) {
          const r = await this.request({ action: 'rename_conversation', conversationId: c.id, title: input.value });
          if (r.type === 'error') this.els.alert.textContent = friendly(errorOf(r));
          else {
            const list = (this.load('list') || []).map((x) => (x.id === c.id ? { id: x.id, title: r.data.title } : x));
            this.save('list', list);
          }
        }
        this.refreshList();
      };
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') done(true);
        else if (ev.key === 'Escape') done(false);
      });
      li.replaceChildren(input);
      input.focus();
      input.select();
    }

    openConversation(id) {
      this.conversation = id;
      this.toggleSide(false);
      this.openSession(true);
    }

    newConversation() {
      this.conversation = null;
      this.save('conversation', null);
      this.toggleSide(false);
      this.openSession(true);
      this.els.input.focus();
    }

    // ---- rendering ----
    showEmpty() {
      this.els.log.replaceChildren(h('p', { class: 'empty', text: 'Ask a question to start.' }));
    }
    clearEmpty() {
      const empty = this.els.log.querySelector('.empty');
      if (empty) empty.remove();
    }
    scroll() {
      const log = this.els.log;
      log.scrollTop = log.scrollHeight;
    }
    addUser(text) {
      this.clearEmpty();
      this.els.log.append(h('div', { class: 'msg user', text }));
    }
    addAgent() {
      this.clearEmpty();
      const body = h('div', { class: 'msg agent' });
      this.els.log.append(body);
      return body;
    }
    /** A line of status or error; during a turn it goes above the answer being written. */
    note(text, cls) {
      this.clearEmpty();
      this.place(h('div', { class: `msg ${cls || 'note'}`, text }));
    }
    place(el) {
      const t = this.turn;
      if (t && t.bubble.isConnected) this.els.log.insertBefore(el, t.bubble);
      else this.els.log.append(el);
      this.scroll();
    }

    // ---- a turn ----
    async send() {
      const text = this.els.input.value.trim();
      if (!text || this.refused) return;
      if (!this.session) return (this.els.alert.textContent = 'Not connected yet. Your message is still in the box.');
      this.els.input.value = '';
      this.addUser(text);
      this.remember(this.conversation, text.slice(0, 60));
      const requestId = rid('msg');
      this.answerSession = this.session;
      this.beginTurn(requestId);
      const r = await this.request({ action: 'send_message', requestId, sessionId: this.session, message: text });
      if (r.type === 'error') this.failTurn(errorOf(r));
      this.refreshList();
    }

    beginTurn(requestId) {
      const bubble = this.addAgent();
      bubble.setAttribute('aria-busy', 'true');
      bubble.append(h('span', { class: 'status', text: 'Thinking…' }));
      this.turn = { requestId, bubble, text: '', frame: 0 };
      this.els.stopBtn.hidden = false;
      this.scroll();
    }

    turnFor(f) {
      if (!this.turn || (f.requestId && this.turn.requestId !== f.requestId)) this.beginTurn(f.requestId);
      return this.turn;
    }

    paint() {
      const t = this.turn;
      if (!t || t.frame) return;
      t.frame = requestAnimationFrame(() => {
        t.frame = 0;
        t.bubble.replaceChildren(markdown(t.text));
        this.scroll();
      });
    }

    endTurn(noteText) {
      const t = this.turn;
      if (!t) return;
      if (t.frame) cancelAnimationFrame(t.frame);
      if (t.text) t.bubble.replaceChildren(markdown(t.text));
      else t.bubble.remove();
      t.bubble.removeAttribute('aria-busy');
      this.turn = null;
      this.els.stopBtn.hidden = true;
      if (noteText) this.note(noteText);
    }

    failTurn(e) {
      this.endTurn();
      this.note(friendly(e), 'err');
    }

    finish(f) {
      const t = this.turnFor(f);
      const d = (f.data && f.data.data) || {};
      if (!t.text) t.text = textOf(d.response);
      const bubble = t.bubble;
      this.endTurn();
      if (!bubble.isConnected) this.els.log.append(bubble);
      const cites = d.citations || [];
      if (cites.length) {
        const ul = h('ul', { class: 'cites', 'aria-label': 'Sources' });
        for (const c of cites) {
          const href = c.url && safeUrl(c.url);
          const name = c.title || c.id;
          ul.append(h('li', {}, 'Source: ', href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: name }) : h('strong', { text: name }),
            c.snippet ? h('span', { class: 'snip', text: c.snippet }) : null));
        }
        bubble.append(ul);
      }
      this.scroll();
    }

    cancel() {
      if (!this.turn) return;
      this.request({ action: 'cancel', sessionId: this.answerSession || this.session });
    }

    onFrame(f) {
      const resolve = f.requestId && this.pending.get(f.requestId);
      if (resolve && ['immediate_response', 'error', 'otp_verified', 'otp_invalid', 'interaction_invalid', 'pong'].includes(f.type)) {
        this.pending.delete(f.requestId);
        resolve(f);
        if (f.type !== 'interaction_invalid') return;
      }
      const inner = (f.data && f.data.data) || {};
      switch (f.type) {
        case 'stream_token': {
          const t = this.turnFor(f);
          t.text += f.data ? f.data.token : f.token || '';
          this.paint();
          break;
        }
        case 'stream_chunk': {
          const raw = (f.data && f.data.state && f.data.state.rawResponse) || {};
          const name = raw.toolCall && raw.toolCall.name;
          if (name && !/^(knowledge_search|request_\w+|submit_interaction)$/.test(name)) this.note(`Using ${name}…`);
          break;
        }
        case 'write_confirmation_required':
          this.approval(f.requestId, inner);
          break;
        case 'interaction_required':
          this.interaction(f.requestId, inner);
          break;
        case 'interaction_invalid':
          this.invalid(inner);
          break;
        case 'otp_verification_required':
        case 'otp_sent':
          this.otp(inner);
          break;
        case 'eventual_response':
          this.finish(f);
          break;
        case 'cancelled':
          this.endTurn('Stopped.');
          break;
        case 'error':
          if (this.turn) this.failTurn(errorOf(f));
          else this.note(friendly(errorOf(f)), 'err');
          break;
        default:
      }
    }

    card(title, ...kids) {
      this.clearEmpty();
      const heading = h('h3', { text: title });
      const card = h('div', { class: 'card', role: 'group', 'aria-label': title }, heading, ...kids);
      this.place(card);
      const t = this.turn;
      if (t && !t.text) t.bubble.replaceChildren(h('span', { class: 'status', text: 'Waiting for your answer…' }));
      const first = card.querySelector('input,button');
      if (first) first.focus();
      return card;
    }

    closeCard(card, text) {
      for (const el of card.querySelectorAll('button,input')) el.disabled = true;
      const done = card.querySelector('.done') || card.appendChild(h('p', { class: 'done' }));
      done.textContent = text;
    }

    approval(requestId, d) {
      const answer = async (approved) => {
        this.closeCard(card, approved ? 'Approved.' : 'Denied.');
        const r = await this.request({ action: 'confirm_tool_action', sessionId: this.answerSession || this.session, approved });
        if (r.type === 'error') this.note(friendly(errorOf(r)), 'err');
      };
      const card = this.card('Approval needed',
        h('p', { text: 'The assistant wants to do this:' }),
        h('pre', { text: d.actionDescription || d.toolId || '' }),
        h('div', { class: 'row' },
          h('button', { class: 'primary', type: 'button', text: 'Approve', onclick: () => answer(true) }),
          h('button', { class: 'danger', type: 'button', text: 'Deny', onclick: () => answer(false) })));
    }

    interaction(requestId, d) {
      const spec = d.spec || {};
      // The server validates (and says what is wrong with each field).
      const form = h('form', { novalidate: true });
      let values;
      if (d.kind === 'choices') {
        (spec.questions || []).forEach((q, i) => {
          const fs = h('fieldset', {}, h('legend', { text: q.question || q.header }));
          for (const o of q.options || [])
            fs.append(h('label', { class: 'opt' }, h('input', { type: q.multiSelect ? 'checkbox' : 'radio', name: `q${i}`, value: o.label }), o.label));
          form.append(fs);
        });
        values = () => ({
          answers: (spec.questions || []).map((q, i) => ({
            header: q.header,
            options: [...form.querySelectorAll(`input[name=q${i}]:checked`)].map((x) => x.value),
          })),
        });
      } else {
        const labels = { name: 'Name', email: 'Email', phone: 'Phone' };
        const types = { name: 'text', email: 'email', phone: 'tel' };
        const auto = { name: 'name', email: 'email', phone: 'tel' };
        for (const f of spec.fields || []) {
          const id = `sb-f-${d.interactionId}-${f.key}`;
          form.append(h('div', { class: 'field' },
            h('label', { for: id, text: (f.label || labels[f.key] || f.key) + (f.required ? ' (required)' : '') }),
            h('input', { id, name: f.key, type: types[f.key] || 'text', autocomplete: auto[f.key], 'aria-describedby': `${id}-e` }),
            h('span', { class: 'ferr', id: `${id}-e` })));
        }
        values = () => {
          const v = {};
          for (const input of form.querySelectorAll('input')) if (input.value.trim()) v[input.name] = input.value.trim();
          return v;
        };
      }
      const submit = async (declined) => {
        const frame = { action: 'submit_interaction', sessionId: this.answerSession || this.session, interactionId: d.interactionId, kind: d.kind };
        if (declined) frame.declined = true;
        else frame.values = values();
        const r = await this.request(frame);
        if (r.type === 'interaction_invalid') return;
        if (r.type === 'error') return this.note(friendly(errorOf(r)), 'err');
        this.closeCard(card, declined ? 'Skipped.' : 'Sent.');
      };
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        submit(false);
      });
      form.append(h('div', { class: 'row' },
        h('button', { class: 'primary', type: 'submit', text: 'Send' }),
        h('button', { type: 'button', text: d.kind === 'choices' ? 'Skip' : 'No thanks', onclick: () => submit(true) })));
      const why = d.reason ? h('p', { class: 'status', text: `Asked ${d.reason.replace(/[.\s]+$/, '')}.` }) : null;
      const card = this.card(d.kind === 'choices' ? 'Please choose' : 'Your details', why, form);
      card.dataset.interaction = d.interactionId;
    }

    invalid(d) {
      const card = [...this.els.log.querySelectorAll('.card')].find((c) => c.dataset.interaction === d.interactionId);
      if (!card) return this.note(d.message || 'Please check your answers.', 'err');
      for (const span of card.querySelectorAll('.ferr')) span.textContent = '';
      for (const input of card.querySelectorAll('input')) input.removeAttribute('aria-invalid');
      let first = null;
      for (const err of d.errors || []) {
        const input = card.querySelector(`input[name="${CSS_ESCAPE(err.field)}"]`);
        if (input) {
          input.setAttribute('aria-invalid', 'true');
          card.querySelector(`#${CSS_ESCAPE(input.id)}-e`).textContent = err.message;
          first = first || input;
        }
      }
      const msg = card.querySelector('.done') || card.appendChild(h('p', { class: 'ferr done', role: 'alert' }));
      msg.textContent = d.message || 'Please check your answers.';
      if (first) first.focus();
    }

    otp(d) {
      if (d.maskedDestination && this.otpCard && this.otpCard.isConnected) {
        this.otpCard.querySelector('.dest').textContent = `We sent a code to ${d.maskedDestination}.`;
        return;
      }
      const input = h('input', { id: 'sb-otp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '10' });
      const msg = h('p', { class: 'ferr', role: 'alert' });
      const form = h('form', {
        onsubmit: async (ev) => {
          ev.preventDefault();
          const r = await this.request({ action: 'verify_otp', sessionId: this.answerSession || this.session, code: input.value.trim() });
          if (r.type === 'otp_verified') this.closeCard(card, 'Verified. Send your request again.');
          else if (r.type === 'otp_invalid') {
            const x = (r.data && r.data.data) || {};
            msg.textContent = `${x.message || 'That code did not work.'} (${x.attemptsRemaining ?? 0} attempts left)`;
            input.focus();
          } else msg.textContent = friendly(errorOf(r));
        },
      }, h('div', { class: 'field' }, h('label', { for: 'sb-otp', text: 'One-time code' }), input), msg,
      h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit', text: 'Verify' })));
      const dest = h('p', { class: 'dest', text: d.maskedDestination ? `We sent a code to ${d.maskedDestination}.` : 'We are sending you a one-time code.' });
      const card = this.card('Confirm it is you', dest, form);
      this.otpCard = card;
    }
  }

  const CSS_ESCAPE = (s) => (window.CSS && CSS.escape ? CSS.escape(String(s)) : String(s).replace(/[^\w-]/g, '\\$&'));

  if (!customElements.get('switchboard-chat')) customElements.define('switchboard-chat', SwitchboardChat);

  // The widget tag: <script src=".../widget.js" data-agent-id="..."> adds the launcher.
  if (script && script.dataset.agentId) {
    const mount = () => {
      const chat = document.createElement('switchboard-chat');
      chat.setAttribute('mode', 'widget');
      chat.setAttribute('agent-id', script.dataset.agentId);
      for (const k of ['userId', 'signature', 'timestamp'])
        if (script.dataset[k]) chat.setAttribute(k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()), script.dataset[k]);
      document.body.append(chat);
    };
    if (document.body) mount();
    else document.addEventListener('DOMContentLoaded', mount);
  }
})();
