/* Switchboard chat: the <switchboard-chat> element, used full-screen by the chat page
 * at / and as a launcher + panel by the website widget:
 *   <script src="https://HOST/widget.js" data-agent-id="AGENT-UUID" async></script>
 * It speaks the smooth-operator WebSocket protocol to the host it was loaded from.
 * Untrusted text (model, documents, users) only ever reaches the DOM as text nodes:
 * nothing here assigns HTML.
 * Served as one file, kept as parts: prelude.js, widget.css, dom.js, cards.js, element.js
 * (assembled in ../mod.rs). */
(() => {
  'use strict';
  const script = document.currentScript;
  const origin = new URL(script && script.src ? script.src : location.href).origin;
  const WS_URL = origin.replace(/^http/, 'ws') + '/ws';
  const DEFAULT_AGENT = '11111111-1111-1111-1111-111111111111';
  const SUPPORTS = ['identity_form', 'choice_chips'];

