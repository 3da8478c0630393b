/* Shared by the chat element: building DOM from untrusted text, Markdown, error texts. */
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

