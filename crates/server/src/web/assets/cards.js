/* The cards a parked turn asks with: approval, Rich Interactions, one-time code. */
  function approvalCard(chat, requestId, d) {
    const answer = async (approved) => {
      chat.closeCard(card, approved ? 'Approved.' : 'Denied.');
      const r = await chat.request({ action: 'confirm_tool_action', sessionId: chat.answerSession || chat.session, approved });
      if (r.type === 'error') chat.note(friendly(errorOf(r)), 'err');
    };
    const card = chat.card('Approval needed',
      h('p', { text: 'The assistant wants to do this:' }),
      h('pre', { text: d.actionDescription || d.toolId || '' }),
      h('div', { class: 'row' },
        h('button', { class: 'primary', type: 'button', text: 'Approve', onclick: () => answer(true) }),
        h('button', { class: 'danger', type: 'button', text: 'Deny', onclick: () => answer(false) })));
  }

  function interactionCard(chat, requestId, d) {
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
      const frame = { action: 'submit_interaction', sessionId: chat.answerSession || chat.session, interactionId: d.interactionId, kind: d.kind };
      if (declined) frame.declined = true;
      else frame.values = values();
      const r = await chat.request(frame);
      if (r.type === 'interaction_invalid') return;
      if (r.type === 'error') return chat.note(friendly(errorOf(r)), 'err');
      chat.closeCard(card, declined ? 'Skipped.' : 'Sent.');
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      submit(false);
    });
    form.append(h('div', { class: 'row' },
      h('button', { class: 'primary', type: 'submit', text: 'Send' }),
      h('button', { type: 'button', text: d.kind === 'choices' ? 'Skip' : 'No thanks', onclick: () => submit(true) })));
    const why = d.reason ? h('p', { class: 'status', text: `Asked ${d.reason.replace(/[.\s]+$/, '')}.` }) : null;
    const card = chat.card(d.kind === 'choices' ? 'Please choose' : 'Your details', why, form);
    card.dataset.interaction = d.interactionId;
  }

  function invalidCard(chat, d) {
    const card = [...chat.els.log.querySelectorAll('.card')].find((c) => c.dataset.interaction === d.interactionId);
    if (!card) return chat.note(d.message || 'Please check your answers.', 'err');
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

  function otpCard(chat, d) {
    if (d.maskedDestination && chat.otpCard && chat.otpCard.isConnected) {
      chat.otpCard.querySelector('.dest').textContent = `We sent a code to ${d.maskedDestination}.`;
      return;
    }
    const input = h('input', { id: 'sb-otp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '10' });
    const msg = h('p', { class: 'ferr', role: 'alert' });
    const form = h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await chat.request({ action: 'verify_otp', sessionId: chat.answerSession || chat.session, code: input.value.trim() });
        if (r.type === 'otp_verified') {
          msg.textContent = '';
          chat.closeCard(card, 'Verified. Send your request again.');
        }
        else if (r.type === 'otp_invalid') {
          const x = (r.data && r.data.data) || {};
          msg.textContent = x.message || `That code did not work (${x.attemptsRemaining ?? 0} attempts left).`;
          input.focus();
        } else msg.textContent = friendly(errorOf(r));
      },
    }, h('div', { class: 'field' }, h('label', { for: 'sb-otp', text: 'One-time code' }), input), msg,
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit', text: 'Verify' })));
    const dest = h('p', { class: 'dest', text: d.maskedDestination ? `We sent a code to ${d.maskedDestination}.` : 'We are sending you a one-time code.' });
    const card = chat.card('Confirm it is you', dest, form);
    chat.otpCard = card;
  }
