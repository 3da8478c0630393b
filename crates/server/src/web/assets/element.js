/* The <switchboard-chat> element: the protocol client, its state and its layout. */
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
      // A page may name its agent by slug; from here on it is the agent's UUID.
      const named = this.agents.find((a) => a.slug && a.slug === this.agentId);
      if (named) this.agentId = named.id;
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
        else {
          const bubble = this.addAgent();
          bubble.append(markdown(text));
          if (m.from) this.signed(bubble, m.from);
        }
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
      // A person of the team owns the conversation: the agent said nothing.
      if (!t.text && d.needsEscalation) return this.note('Sent. A person from the team will answer here.');
      if (!bubble.isConnected) this.els.log.append(bubble);
      const from = d.response && typeof d.response === 'object' && d.response.from;
      if (from) this.signed(bubble, from);
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

    /** Marks a message a person of the team wrote (a human operator). */
    signed(bubble, from) {
      bubble.classList.add('human');
      bubble.prepend(h('span', { class: 'who', text: `${from.name || 'Support team'} · team` }));
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
          approvalCard(this, f.requestId, inner);
          break;
        case 'interaction_required':
          interactionCard(this, f.requestId, inner);
          break;
        case 'interaction_invalid':
          invalidCard(this, inner);
          break;
        case 'otp_verification_required':
        case 'otp_sent':
          otpCard(this, inner);
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
